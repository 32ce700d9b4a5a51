"""A schema-driven fuzz of /graphql (schemathesis): no generated query gets a 5xx."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.hostile_documents import (
    HUGE_ID_QUERY,
    NOT_UTF8,
    SUBSCRIPTION,
    deep_json,
    doubling_fragments,
)
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


HOSTILE_QUERIES = [
    doubling_fragments(24),
    doubling_fragments(40, leaf="edges { node { id name } }"),
    doubling_fragments(12, leaf="...Loop") + "\nfragment Loop on RuleConnection { ...F0 }",
    "{" + " rules { edges { node { runs" * 400 + " { totalCount }" + " } } }" * 400 + " }",
    "{ " + "rules { " * 3000 + "}" * 3000 + " }",
    "query { rules { ...Missing } }",
    "{ rules(first: 99999999999999999999999) { totalCount } }",
    SUBSCRIPTION,
]
HOSTILE_BODIES = [
    NOT_UTF8,
    deep_json(5_000),
    deep_json(100_000),
    b'{"query": "' + b"{" * 50_000 + b'"}',
    b'{"query": "{ rules { totalCount } }", "variables": {"v": ' + b"1" * 5000 + b"}}",
    b"\xef\xbb\xbf" + b'{"query": "{ rules { totalCount } }"}',
    b'{"query": "\\ud800"}',
]


def test_hostile_documents_and_bodies_never_get_a_5xx(server: SecureServer) -> None:
    """Fragment chains, deep nesting and bad encodings, with each role and with none."""
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    ids = [base64.b64encode(f"Rule:{n}".encode()).decode() for n in (2**63, 10**30, -5)]
    with requests.Session() as session:
        for role in (None, "viewer", "admin"):
            headers = {"Authorization": f"Bearer {server.tokens[role]}"} if role else {}
            sent: list[requests.Response] = []
            for query in HOSTILE_QUERIES:
                sent.append(session.post(f"{server.base_url}/graphql", json={"query": query},
                                         headers=headers, timeout=30))
                sent.append(session.get(f"{server.base_url}/graphql", params={"query": query},
                                        headers={**headers, "Accept": "text/html"}, timeout=30))
            for body in HOSTILE_BODIES:
                sent.append(session.post(f"{server.base_url}/graphql", data=body, timeout=30,
                                         headers={**headers, "Content-Type": "application/json"}))
            for node_id in ids:
                sent.append(session.post(
                    f"{server.base_url}/graphql", headers=headers, timeout=30,
                    json={"query": HUGE_ID_QUERY, "variables": {"id": node_id}}))
            for response in sent:
                statuses[response.status_code] += 1
                if response.status_code >= 500 or "Unexpected error" in response.text:
                    failures.append(f"{role}: {response.status_code} {response.text[:200]}")
                if role is None:
                    assert response.status_code == 401, response.text[:200]
    assert not failures, failures[:5]
    assert statuses[400] > 0 and statuses[200] > 0, statuses
