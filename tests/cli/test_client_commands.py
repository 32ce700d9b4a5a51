"""`provisync rules`, `status` and `resync` against a running server, as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.api import Api, running_api
from tests.support.scenario import (
    create_connection,
    create_group,
    create_rule,
    create_user,
    rule_view,
)
from tests.support.servers import free_port


@dataclass
class Seeded:
    api: Api
    ok_rule: str
    disabled_rule: str
    broken_rule: str


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    with running_api(database_url, batch_size=2) as api:
        for i in range(5):
            create_user(api, f"cli{i}")
        create_user(api, "cli.bad")
        ok = create_rule(
            api,
            create_connection(api, name="CLI target", fail_users=["cli.bad"], delay=0.1),
            name="Directory to CLI target",
            enabled=True,
        )
        api.wait_idle(ok["id"])
        disabled = create_rule(api, create_connection(api, name="Off target"), name="Off rule")
        broken = create_rule(
            api,
            create_connection(api, name="Down target", mode="unreachable"),
            name="Broken rule",
            enabled=True,
        )
        api.wait_idle(broken["id"])
        yield Seeded(api, ok["id"], disabled["id"], broken["id"])


def provisync(api_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROVISYNC_URL": api_url}
    env.pop("PROVISYNC_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_rules_prints_a_table_of_every_rule(seeded: Seeded) -> None:
    done = provisync(seeded.api.base_url, "rules")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == [
        "NAME",
        "STATUS",
        "DIRECTION",
        "SOURCE",
        "TARGET",
        "KIND",
        "IMPACTED",
        "SUCCESS",
        "UNSYNCED",
        "PARTIAL",
        "FAILED",
        "WB-FAILED",
        "LAST",
        "SYNC",
    ]
    view = rule_view(seeded.api, seeded.ok_rule)
    ok_lines = [line for line in lines if line.startswith("Directory to CLI target")]
    # Users and groups apart; a rule with no groups shows no empty group line.
    assert len(ok_lines) == 1
    cells = ok_lines[0].split()
    assert cells[4:-1] == [
        "ACTIVE",
        "OUTBOUND",
        "Directory",
        "CLI",
        "target",
        "users",
        "6",
        "5",
        "0",
        "0",
        "1",
        "0",
    ]
    assert cells[-1] == view["lastSync"]
    users = view["summary"]["users"]
    assert [int(c) for c in cells[10:15]] == [
        users[k] for k in ("impacted", "success", "unsynced", "partialSynced", "failed")
    ]
    off_line = next(line for line in lines if line.startswith("Off rule"))
    assert off_line.split()[2] == "INACTIVE" and off_line.split()[-8:] == ["-"] * 7 + ["never"]
    broken_line = next(line for line in lines if line.startswith("Broken rule"))
    assert broken_line.split()[2] == "FAILED"


def test_rules_shows_groups_on_their_own_line(database_url: str) -> None:
    with running_api(database_url) as api:
        members = [create_user(api, f"grp{i}") for i in range(3)]
        group = create_group(api, "Team", members)
        rule = create_rule(
            api,
            create_connection(api, name="G"),
            name="With groups",
            enabled=True,
            groupIds=[group],
        )
        api.wait_idle(rule["id"])
        done = provisync(api.base_url, "rules")
    assert done.returncode == 0, done.stderr
    kinds = [line.split()[6:8] for line in done.stdout.splitlines()[1:]]
    assert kinds == [["users", "3"], ["groups", "1"]]


def test_rules_json_into_a_closed_pipe_ends_quietly(seeded: Seeded) -> None:
    env = {**os.environ, "PROVISYNC_URL": seeded.api.base_url}
    env.pop("PROVISYNC_TOKEN", None)
    done = subprocess.run(
        f"{sys.executable} -m gql.cli rules --json | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.stdout == "[\n"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_a_unique_prefix_names_a_rule(seeded: Seeded) -> None:
    done = provisync(seeded.api.base_url, "status", "directory to")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Directory to CLI target")
    off = provisync(seeded.api.base_url, "status", "OFF")
    assert off.returncode == 0 and off.stdout.startswith("Off rule"), off.stderr
    several = provisync(seeded.api.base_url, "status", "")
    assert several.returncode == 2 and "rules match" in several.stderr


def test_status_by_name_and_by_id_shows_the_summary(seeded: Seeded) -> None:
    by_name = provisync(seeded.api.base_url, "status", "Directory to CLI target")
    assert by_name.returncode == 0, by_name.stderr
    assert "Sync Status:    ACTIVE" in by_name.stdout
    assert (
        "Users:          impacted 6  success 5  unsynced 0  partial 0  failed 1" in by_name.stdout
    )
    # The memory connector writes back, so the write-back failures are shown.
    assert "write-back failures 0" in by_name.stdout
    by_id = provisync(seeded.api.base_url, "status", seeded.ok_rule)
    assert by_id.returncode == 0 and by_id.stdout == by_name.stdout

    off = provisync(seeded.api.base_url, "status", "off RULE")  # names match case-insensitively
    assert off.returncode == 0, off.stderr
    assert "Summary:        hidden: the rule is disabled" in off.stdout
    broken = provisync(seeded.api.base_url, "status", "Broken rule")
    assert "Last run error: " in broken.stdout and "does not answer" in broken.stdout


def test_status_of_an_unknown_rule_exits_2(seeded: Seeded) -> None:
    done = provisync(seeded.api.base_url, "status", "no such rule")
    assert done.returncode == 2
    assert "no rule named 'no such rule'" in done.stderr


def test_resync_wait_shows_progress_and_exits_0_when_the_run_succeeds(seeded: Seeded) -> None:
    done = provisync(
        seeded.api.base_url, "resync", "Directory to CLI target", "--wait", "--interval", "0.05"
    )
    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED: 6 processed" in done.stdout
    # It ends with what the run did: one refused, five already there and in sync.
    assert done.stdout.splitlines()[-1] == "outcomes: failed 1, success 5"
    bars = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert bars[-1] == "[" + "#" * 30 + "] 6/6 SUCCEEDED", bars
    runs = seeded.api(
        "query($id: ID!) { rule(id: $id) { runs(first: 1) { edges { node { kind status } } } } }",
        {"id": seeded.ok_rule},
    )["rule"]["runs"]["edges"]
    assert runs[0]["node"] == {"kind": "FULL", "status": "SUCCEEDED"}


def test_resync_wait_exits_1_when_the_run_fails(seeded: Seeded) -> None:
    done = provisync(seeded.api.base_url, "resync", "Broken rule", "--wait", "--interval", "0.05")
    assert done.returncode == 1
    assert "FAILED: memory target" in done.stdout
    assert rule_view(seeded.api, seeded.broken_rule)["status"] == "FAILED"


def test_resync_of_a_disabled_rule_is_refused_with_exit_1(seeded: Seeded) -> None:
    done = provisync(seeded.api.base_url, "resync", seeded.disabled_rule, "--wait")
    assert done.returncode == 1
    assert "full resync refused (RULE_DISABLED)" in done.stderr


def test_usage_errors_and_an_unreachable_server(seeded: Seeded) -> None:
    assert provisync(seeded.api.base_url, "resync").returncode == 2  # RULE is required
    assert provisync(seeded.api.base_url, "resync", "nope", "--wait").returncode == 2
    down = provisync(f"http://127.0.0.1:{free_port()}", "rules")
    assert down.returncode == 3
    assert "cannot reach provisync" in down.stderr


def test_a_bogus_token_is_said_to_be_refused(database_url: str) -> None:
    from tests.security.support import secure_server

    with secure_server(database_url) as server:
        bogus = provisync(server.base_url, "rules", "--token", "bogus")
        missing = provisync(server.base_url, "rules")
    assert bogus.returncode == 3
    assert "refused the token" in bogus.stderr and "pass --token" not in bogus.stderr
    assert missing.returncode == 3 and "needs an API token" in missing.stderr
