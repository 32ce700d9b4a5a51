"""Issue 13: SCIM services shaped unlike scim2-server, checked with the same truth check.

Each shape is scim2-server behind the proxy, which changes what the server answers the way
another implementation would: no ETags, a strict filter parser (400 invalidFilter for any
escaped character, and a userName with a ``"`` in the rule), PATCH answered 204 with no body,
groups that accept only members that exist, and ``User.groups`` computed by the server. A
first sync, directory changes pushed as they happen, and a full resync must each leave the
stored states true.
"""

from __future__ import annotations

import pytest

from tests.support.api import Api
from tests.support.scenario import assert_invariants
from tests.support.truth import assert_rule_truth
from tests.support.truth_scenario import (
    run_count,
    run_resync,
    seed_directory,
    truth_rule,
    truth_target,
    wait_pushed,
)

SHAPES = {
    "no_etag": {"no_etag": True},
    "strict_filter": {"strict_filter": True},
    "patch_204": {"patch_204": True},
    "existing_members_only": {"existing_members_only": True},
    "computed_user_groups": {"computed_user_groups": True},
    "computed_user_groups_put": {"computed_user_groups": True, "no_patch": True},
}
ODD = 'o"brien\\dev'


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_states_are_the_truth_at_a_target_of_another_shape(api: Api, shape: str) -> None:
    with truth_target() as target:
        for name, value in SHAPES[shape].items():
            setattr(target.proxy.shape, name, value)
        users, groups = seed_directory(api, 60, 4, extra=[{"userName": ODD, "title": "Dev"}])
        # small batches look accounts up by filter, which the strict shape refuses
        rule = truth_rule(api, target, groups, use_bulk=False, filter_chunk=10)
        assert_invariants(api, rule)
        assert_rule_truth(api, rule, target.direct)

        before = run_count(api, rule)
        for uid in (users[1], users[2], users[-1]):  # pushed as they happen
            api(
                """mutation($id: ID!) { updateDirectoryUser(id: $id, input: {title: "Lead"}) {
                     __typename } }""",
                {"id": uid},
            )
        members = [*users[0::4][:15], users[-1], users[5]]  # two members more
        api(
            """mutation($id: ID!, $members: [ID!]) { updateDirectoryGroup(id: $id,
                 input: {memberIds: $members}) { __typename } }""",
            {"id": groups[0], "members": members},
        )
        wait_pushed(api, rule, before)
        answered = {(m, "filter=" in t, status) for m, t, status in target.proxy.log}
        if shape == "strict_filter":  # the odd userName's lookup really was refused
            assert ("GET", True, "400") in answered, target.proxy.log
        if shape == "patch_204":
            assert ("PATCH", False, "204") in answered, sorted(answered)
        assert_invariants(api, rule)
        assert_rule_truth(api, rule, target.direct)

        run = run_resync(api, rule)
        assert run["status"] == "SUCCEEDED", run
        assert_invariants(api, rule)
        report = assert_rule_truth(api, rule, target.direct)
        assert report.entities == 61 + 4
