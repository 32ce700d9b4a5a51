#!/bin/sh
# Re-fetch GraphiQL's browser assets into gql/web/static/vendor/ from the npm registry, at the
# pinned versions below, with their licence files. provisync serves them itself, so GraphiQL
# works where only loopback is reachable. Needs npm and tar; run from anywhere:
#   sh gql/web/vendor.sh
set -eu
REACT=18.2.0
GRAPHIQL=3.8.3
EXPLORER=1.0.2
here=$(cd "$(dirname "$0")" && pwd)
out="$here/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fetch() { # package version folder
    tgz=$(npm pack --silent "$1@$2")
    mkdir -p "$3"
    tar xzf "$tgz" -C "$3" --strip-components=1
}
fetch react "$REACT" react
fetch react-dom "$REACT" react-dom
fetch graphiql "$GRAPHIQL" graphiql
fetch @graphiql/plugin-explorer "$EXPLORER" explorer
rm -rf "$out"
mkdir -p "$out/react" "$out/react-dom" "$out/graphiql" "$out/plugin-explorer"
cp react/umd/react.production.min.js react/LICENSE "$out/react/"
cp react-dom/umd/react-dom.production.min.js react-dom/LICENSE "$out/react-dom/"
cp graphiql/graphiql.min.js graphiql/graphiql.min.css graphiql/LICENSE "$out/graphiql/"
cp explorer/dist/index.umd.js explorer/dist/style.css "$out/plugin-explorer/"
# The plugin's package ships no licence file; it is MIT ("license" in its package.json) and
# comes from the same repository (graphql/graphiql) as graphiql, whose LICENSE covers it.
cp graphiql/LICENSE "$out/plugin-explorer/LICENSE"
cat > "$out/README.md" <<README
# Vendored GraphiQL assets

Served by provisync at \`/console/vendor/...\` for its GraphiQL page (\`/graphql\` in a
browser), so GraphiQL needs no internet. Fetched by \`gql/web/vendor.sh\` with \`npm pack\`:

| folder | npm package | version | files | licence |
| --- | --- | --- | --- | --- |
| react/ | react | $REACT | umd/react.production.min.js | MIT (react/LICENSE) |
| react-dom/ | react-dom | $REACT | umd/react-dom.production.min.js | MIT (react-dom/LICENSE) |
| graphiql/ | graphiql | $GRAPHIQL | graphiql.min.js, graphiql.min.css | MIT (graphiql/LICENSE) |
| plugin-explorer/ | @graphiql/plugin-explorer | $EXPLORER | dist/index.umd.js, dist/style.css | MIT (package.json; the graphql/graphiql LICENSE, copied) |

To update, change the versions at the top of \`gql/web/vendor.sh\` and run it.
README
echo "vendored into $out"
