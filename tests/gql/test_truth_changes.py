"""Issue 13: directory changes pushed to scim2-server, then the truth check.

Each change is one the issue saw the summary lie about (items 1-3 fixed on branch
truth-scim); after the push and after a full resync, the truth check finds no disagreement.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.api import Api
from tests.support.truth import assert_rule_truth, rule_truth
from tests.support.truth_scenario import (
    run_count,
    run_resync,
    seed_directory,
    truth_rule,
    truth_target,
    wait_pushed,
)

Change = Callable[[Api, list[str], list[str]], None]


def add_title(api: Api, users: list[str], groups: list[str]) -> None:
    api(
        'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "Lead"}) { __typename } }',
        {"id": users[3]},
    )


def clear_phone(api: Api, users: list[str], groups: list[str]) -> None:
    api(
        'mutation($id: ID!) { updateDirectoryUser(id: $id, input: {phone: ""}) { __typename } }',
        {"id": users[4]},  # person.0004 has a phone
    )


def rename_group(api: Api, users: list[str], groups: list[str]) -> None:
    api(
        """mutation($id: ID!) { updateDirectoryGroup(id: $id, input: {displayName: "Renamed"}) {
             __typename } }""",
        {"id": groups[0]},
    )


def remove_member(api: Api, users: list[str], groups: list[str]) -> None:
    api(
        """mutation($id: ID!, $members: [ID!]) { updateDirectoryGroup(id: $id,
             input: {memberIds: $members}) { __typename } }""",
        {"id": groups[0], "members": users[0::2][1:10]},  # person.0000 leaves Team 00
    )


CHANGES: dict[str, Change] = {
    "add_title": add_title,
    "clear_phone": clear_phone,  # issue 13 item 1
    "rename_group": rename_group,  # issue 13 item 2
    "remove_member": remove_member,  # issue 13 item 3
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_pushed_change_and_a_full_resync_leave_true_states(api: Api, change: str) -> None:
    with truth_target() as target:
        users, groups = seed_directory(api, 20, 2)
        rule = truth_rule(api, target, groups)
        assert_rule_truth(api, rule, target.direct)
        before = run_count(api, rule)
        CHANGES[change](api, users, groups)
        wait_pushed(api, rule, before)
        pushed = rule_truth(api, rule, target.direct)
        run = run_resync(api, rule)
        assert run["status"] == "SUCCEEDED", run
        resynced = rule_truth(api, rule, target.direct)
        assert not pushed.disagreements and not resynced.disagreements, (
            f"after the push:\n{pushed.describe()}\nafter a full resync:\n{resynced.describe()}"
        )
