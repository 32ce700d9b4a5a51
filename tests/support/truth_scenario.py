"""A rule of a few hundred users and ~10 groups to a SCIM target behind the fault proxy.

``seed_directory`` creates the directory (GraphQL mutations, 25 aliases to a request);
``truth_rule`` creates the SCIM connection (through the proxy) and an enabled rule, whose first
run goes through whatever faults the test set up before; :func:`run_resync` runs it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gql.demo.scim_target import build_scim_target_app
from tests.support.api import Api
from tests.support.faults import FaultProxy, fault_proxy
from tests.support.scenario import create_connection, create_rule, full_resync
from tests.support.servers import serve_asgi
from tests.support.truth import ScimReader

REFUSED = "refused.user"
ALIASES = 25


@dataclass
class TruthTarget:
    """scim2-server (``direct`` reads it) and the proxy in front of it (what provisync uses)."""

    proxy: FaultProxy
    direct: ScimReader

    @property
    def base_url(self) -> str:
        return f"{self.proxy.url}/v2"


@contextmanager
def truth_target(**proxy_options: Any) -> Iterator[TruthTarget]:
    app = build_scim_target_app(reject_user_names={REFUSED})
    with serve_asgi(app) as upstream, fault_proxy(upstream, **proxy_options) as proxy:
        yield TruthTarget(proxy, ScimReader(f"{upstream}/v2"))


def _person(i: int) -> dict[str, Any]:
    person: dict[str, Any] = {
        "userName": f"person.{i:04d}",
        "givenName": f"Given{i}",
        "familyName": f"Family{i}",
        "displayName": f"Given{i} Family{i}",
        "email": f"person.{i:04d}@example.com",
        "title": ("Engineer", "Analyst", "Manager")[i % 3],
        "department": ("Engineering", "Sales", "Support")[i % 3],
        "employeeId": f"E{i:05d}",
    }
    if i % 4 == 0:
        person["phone"] = f"+1 555 01{i % 100:02d}"
    return person


def seed_directory(
    api: Api, users: int, groups: int, *, extra: list[dict[str, Any]] | None = None
) -> tuple[list[str], list[str]]:
    """Create ``users`` people (plus ``extra``) and ``groups`` groups of about a tenth each."""
    people = [_person(i) for i in range(users)] + list(extra or [])
    user_ids: list[str] = []
    for at in range(0, len(people), ALIASES):
        chunk = people[at : at + ALIASES]
        fields = " ".join(
            f"u{n}: createDirectoryUser(input: $u{n}) {{ ... on DirectoryUser {{ id }} }}"
            for n in range(len(chunk))
        )
        params = ", ".join(f"$u{n}: DirectoryUserInput!" for n in range(len(chunk)))
        data = api(f"mutation({params}) {{ {fields} }}", {f"u{n}": p for n, p in enumerate(chunk)})
        user_ids += [data[f"u{n}"]["id"] for n in range(len(chunk))]
    group_ids = []
    for g in range(groups):
        members = user_ids[g::groups][: max(1, len(user_ids) // groups)]
        data = api(
            """mutation($input: DirectoryGroupInput!) { createDirectoryGroup(input: $input) {
                 ... on DirectoryGroup { id } } }""",
            {"input": {"displayName": f"Team {g:02d}", "memberIds": members}},
        )
        group_ids.append(data["createDirectoryGroup"]["id"])
    return user_ids, group_ids


def truth_rule(api: Api, target: TruthTarget, group_ids: list[str], **settings: Any) -> str:
    """A SCIM connection through the proxy and an enabled rule syncing ``group_ids``, settled."""
    options = {"backoff_base": 0.01, "backoff_max": 0.2, "max_retries": 4, **settings}
    connection = create_connection(api, "scim", base_url=target.base_url, **options)
    rule = create_rule(api, connection, name="truth", enabled=True, groupIds=group_ids)
    assert rule["__typename"] == "Rule", rule
    api.wait_idle(rule["id"], timeout=120)
    return str(rule["id"])


def run_resync(api: Api, rule_id: str, timeout: float = 120) -> dict[str, Any]:
    """A full resync, waited for; the run as the API shows it."""
    api.wait_idle(rule_id, timeout=timeout)
    run = full_resync(api, rule_id)
    assert run["__typename"] == "SyncRun", run
    return api.wait_run(run["id"], timeout=timeout)


def run_count(api: Api, rule_id: str) -> int:
    data = api("query($id: ID!) { rule(id: $id) { runs { totalCount } } }", {"id": rule_id})
    return int(data["rule"]["runs"]["totalCount"])


def wait_pushed(api: Api, rule_id: str, runs_before: int, timeout: float = 60) -> None:
    """Wait until directory changes made since ``runs_before`` were pushed: a new run has
    started, and no run is queued, running or about to start (debounced) any more."""
    deadline = time.monotonic() + timeout
    while run_count(api, rule_id) <= runs_before:
        assert time.monotonic() < deadline, "no run pushed the directory changes"
        time.sleep(0.05)
    while True:
        api.wait_idle(rule_id, timeout=timeout)
        seen = run_count(api, rule_id)
        time.sleep(0.3)  # longer than the test server's debounce
        if run_count(api, rule_id) == seen:
            api.wait_idle(rule_id, timeout=timeout)
            return
        assert time.monotonic() < deadline, "the pushes did not settle"
