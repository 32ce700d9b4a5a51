"""How long the server takes to refuse the 24-fragment doubling document (issue 14).

A document of 24 fragments where F_n spreads F_{n-1} twice once blocked the server for
minutes. Sent over real HTTP to a server with authentication on: without a token (GET with
``Accept: text/html`` and a ``query`` parameter, the old exemption: a 401 before any parse)
and with a token (POST: parsed, then refused by the linear validation rules). The baseline is
``{ __typename }`` with a token, in the same run. Last line: JSON with the medians in
milliseconds and the ratios to the baseline. Goal: well under 100 ms for both.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gql.app import create_app  # noqa: E402
from gql.settings import Settings  # noqa: E402
from tests.security.hostile_documents import doubling_fragments  # noqa: E402
from tests.security.support import SecureServer  # noqa: E402
from tests.support.servers import serve_asgi  # noqa: E402


def median_ms(send: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        send()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    parser.add_argument("--fragments", type=int, default=24)
    args = parser.parse_args()
    rounds = 10 if args.quick else 50
    document = doubling_fragments(args.fragments)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            auth_required=True,
            secret_key=None,
        )
        with serve_asgi(create_app(settings)) as base_url, httpx.Client(timeout=600) as http:
            server = SecureServer(base_url, settings.database_url, settings, {})
            token = server.new_token("viewer", "bench")
            auth = {"Authorization": f"Bearer {token}"}

            def stranger() -> None:
                answer = http.get(f"{base_url}/graphql", params={"query": document},
                                  headers={"Accept": "text/html"})
                assert answer.status_code == 401, answer.text

            def caller() -> None:
                answer = http.post(f"{base_url}/graphql", json={"query": document}, headers=auth)
                assert answer.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"

            def baseline() -> None:
                answer = http.post(f"{base_url}/graphql", json={"query": "{ __typename }"},
                                   headers=auth)
                assert answer.json() == {"data": {"__typename": "Query"}}

            for warm in (stranger, caller, baseline):
                warm()
            base = median_ms(baseline, rounds)
            without = median_ms(stranger, rounds)
            # A fresh document each time, so ParserCache and ValidationCache do not hide the cost.
            variants = iter(range(10**6))

            def fresh_caller() -> None:
                query = document + f"\nquery Other{next(variants)} {{ __typename }}"
                answer = http.post(f"{base_url}/graphql", headers=auth,
                                   json={"query": query, "operationName": "Doubling"})
                assert answer.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"

            with_token = median_ms(fresh_caller, rounds)
    print(f"{args.fragments} doubling fragments, median of {rounds}:")
    print(f"  refused without a token: {without:.1f} ms (401, nothing parsed)")
    print(f"  refused with a token:    {with_token:.1f} ms (parsed, validated, refused)")
    print(f"  baseline {{ __typename }}: {base:.1f} ms")
    print(json.dumps({
        "fragments": args.fragments,
        "refuse_without_token_ms": round(without, 2),
        "refuse_with_token_ms": round(with_token, 2),
        "baseline_typename_ms": round(base, 2),
        "without_token_ratio": round(without / base, 2),
        "with_token_ratio": round(with_token / base, 2),
    }))


if __name__ == "__main__":
    main()
