"""A schema-driven fuzz of /graphql (schemathesis): no generated query gets a 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.support import SecureServer

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
EXAMPLES_PER_OPERATION = 12


def fuzz_one(
    operation: Any,
    server: SecureServer,
    session: requests.Session,
    statuses: Counter[int],
    failures: list[str],
) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy(), role=st.sampled_from(["viewer", "operator", "admin"]))
    def check(case: schemathesis.Case, role: str) -> None:
        response = case.call(
            base_url=f"{server.base_url}/graphql",
            session=session,
            headers={"Authorization": f"Bearer {server.tokens[role]}"},
        )
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{operation.label}: {response.status_code} {case.body!r:.300}")

    return check  # type: ignore[no-any-return]


def test_fuzzed_queries_and_mutations_never_get_a_5xx(server: SecureServer) -> None:
    schema = schemathesis.graphql.from_path(SCHEMA)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    with requests.Session() as session:
        for operation in operations:
            fuzz_one(operation, server, session, statuses, failures)()
    assert not failures, failures[:5]
    assert statuses[200] > len(operations) * EXAMPLES_PER_OPERATION // 2, statuses
