"""The SDK's truth check on plain data: each truth rule, and what the report says."""

from __future__ import annotations

from typing import Any

import pytest

from provisync_sdk import EntityKind, EntityState
from provisync_sdk.testing.truth import StoredEntity, TargetAccount, assert_truth, check_truth

USER, GROUP = EntityKind.USER, EntityKind.GROUP
OK, FAILED, UNSYNCED, PARTIAL = (
    EntityState.SUCCESS,
    EntityState.FAILED,
    EntityState.UNSYNCED,
    EntityState.PARTIAL,
)


def user(key: str, state: EntityState = OK, **fields: Any) -> StoredEntity:
    desired = {"userName": f"{key}@x", "title": "Engineer", **fields.pop("desired", {})}
    return StoredEntity(USER, key, desired["userName"], state, desired=desired, **fields)


def account(rid: str, name: str, **attributes: Any) -> TargetAccount:
    return TargetAccount(rid, name, {"userName": name, "title": "Engineer", **attributes})


def problems(
    stored: list[StoredEntity], users: list[TargetAccount], groups=(), **kw: Any
) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(d) for d in check_truth(stored, users, list(groups), **kw).disagreements]


def test_agreeing_states_have_no_disagreements() -> None:
    stored = [
        user("a", target_id="1"),
        user("b", FAILED, reason="HTTP 400"),
        user("c", UNSYNCED, reason="creating is off"),
        StoredEntity(GROUP, "g", "Team", OK, target_id="g1", members=frozenset({"a"})),
    ]
    report = check_truth(
        stored,
        [account("1", "a@x")],
        [TargetAccount("g1", "Team", members=frozenset({"1"}))],
        tallies={USER: {OK: 1, FAILED: 1, UNSYNCED: 1}, GROUP: {OK: 1}},
    )
    assert report.disagreements == () and report.agree_ratio == 1.0
    assert_truth(report)


def test_success_needs_the_account_with_every_desired_value_and_cleared_ones_absent() -> None:
    stored = [
        user("a", target_id="1", desired={"phone": None}),
        user("b", target_id="2", desired={"title": "Lead"}),
        user("c", target_id="3"),
    ]
    found = problems(stored, [account("1", "a@x", phone="+1 555"), account("2", "b@x")])
    assert found == [
        "user 'a@x': SUCCESS but phone is '+1 555' at the target, not None",
        "user 'b@x': SUCCESS but title is 'Engineer' at the target, not 'Lead'",
        "user 'c@x': SUCCESS but no account at the target",
    ]


def test_groups_need_exactly_the_desired_members_each_an_existing_account() -> None:
    stored = [
        user("a", target_id="1"),
        user("b", FAILED, reason="HTTP 500"),
        StoredEntity(GROUP, "g", "New name", OK, target_id="g1", members=frozenset({"a", "b"})),
    ]
    group = TargetAccount("g1", "Old name", members=frozenset({"dead", "9"}))
    found = problems(stored, [account("1", "a@x"), account("9", "other@x")], [group])
    assert found == [
        "group 'New name': SUCCESS but the target group is named 'Old name'",
        "group 'New name': SUCCESS but member b has no account at the target",
        "group 'New name': SUCCESS but members are not existing accounts: dead",
        "group 'New name': SUCCESS but 1 desired member(s) missing at the target",
        "group 'New name': SUCCESS but 1 member(s) at the target that should not be",
    ]


def test_reasons_unsynced_accounts_duplicates_tallies_and_missing_states() -> None:
    stored = [
        user("a", FAILED),
        user("b", PARTIAL, reason=""),
        user("c", UNSYNCED, reason="off"),
        user("d", FAILED, reason="HTTP 409", target_id="4"),
    ]
    report = check_truth(
        stored,
        [account("3", "c@x"), account("4", "d@x"), account("5", "D@x")],
        [],
        tallies={USER: {FAILED: 1, PARTIAL: 1, UNSYNCED: 1}},
        impacted={USER: {"a": "a@x", "e": "e@x"}},
    )
    assert [str(d) for d in report.disagreements] == [
        "user 'e@x': impacted but no stored state",
        "user 'a@x': FAILED without a reason",
        "user 'b@x': PARTIAL without a reason",
        "user 'c@x': UNSYNCED but the target holds an account: 3",
        "user 'd@x': FAILED but the target holds the account with every desired value",
        "user 'd@x': duplicate accounts at the target: 2",
        "user tallies say 1 FAILED, states 2",
    ]
    assert report.entities == 5 and report.disagreeing == 5
    assert report.agree_ratio == 0.0
    assert report.by_problem()["SUCCESS but _ is _ at the target, not _"] == 0
    assert report.by_problem()["duplicate accounts at the target"] == 1
    with pytest.raises(AssertionError, match="7 disagreement"):
        assert_truth(report)


def test_failed_not_confirmed_is_true_whatever_the_target_holds_and_failed_waits_for_a_retry() -> (
    None
):
    """A change in flight when its run failed may have landed with its answer lost: FAILED
    "not confirmed" (queued) is the truth either way; any other FAILED with the account right
    is not, and a FAILED entity that the host does not retry is a forgotten change."""
    lost = "not confirmed: the run failed before the target confirmed this change: down"
    stored = [
        user("a", FAILED, reason=lost, queued=True),
        user("b", FAILED, reason=lost, queued=True),
        user("c", FAILED, reason="HTTP 409: exists", queued=True),
        user("d", FAILED, reason="HTTP 400", queued=False),
    ]
    users = [account("1", "a@x"), account("3", "c@x")]
    assert problems(stored, users) == [
        "user 'c@x': FAILED but the target holds the account with every desired value",
        "user 'd@x': FAILED but not queued for a retry",
    ]
