"""Every GraphQL document in the README is valid against the schema, as written."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import parse, validate

from gql.schema import schema

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_graphql_block_of_the_readme_validates() -> None:
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    for block in blocks:
        errors = validate(schema._schema, parse(block))
        assert not errors, (block, errors)
