"""Issue 13: how true are the stored states after faults, and how fast do they converge?

A 1,000-user, 10-group outbound rule (``--quick``: 100 users) goes to scim2-server through the
fault proxy in five mixes: 20% 429/503; 10% hangs past the timeout (the target applies the
request, the answer is lost); 10% garbage bodies; one user always refused; the target gone
mid-run and back. Each mix runs on a fresh provisync (SQLite) and a fresh target. After the
faulty first run the truth check compares the stored states with the target; then clean full
resyncs run until it agrees (at most three). A fault-free run of the same rule is the baseline.

Last line, JSON: per mix ``agree_ratio`` after the faulty run and after the first clean
resync, ``clean_runs_to_converge`` (goal 1; null when three did not), and ``time_ratio``
(the faulty first run's time over the fault-free one's, measured after a small warm-up run;
a run that failed as a whole is short), plus the disagreements found, by problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.api import Api, running_api  # noqa: E402
from tests.support.faults import FaultProxy  # noqa: E402
from tests.support.truth import rule_truth  # noqa: E402
from tests.support.truth_mixes import MIXES, PER_REQUEST  # noqa: E402
from tests.support.truth_scenario import (  # noqa: E402
    REFUSED,
    run_resync,
    seed_directory,
    truth_rule,
    truth_target,
)

GROUPS = 10
MAX_CLEAN_RUNS = 3


def fault_free(proxy: FaultProxy) -> dict[str, Any]:
    return PER_REQUEST


def one_mix(name: str, users: int) -> dict[str, Any]:
    setup = fault_free if name == "fault_free" else MIXES[name]
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{Path(tmp) / 'truth.db'}"
        with running_api(database, connector_timeout=30.0) as api, truth_target() as target:
            _ids, groups = seed_directory(api, users, GROUPS, extra=[{"userName": REFUSED}])
            settings = setup(target.proxy)
            started = time.perf_counter()
            rule = truth_rule(api, target, groups, **settings)
            seconds = time.perf_counter() - started
            target.proxy.settle()
            faults = {k: v for k, v in target.proxy.counts.items() if k != "forwarded"}
            faulty = rule_truth(api, rule, target.direct)
            target.proxy.clear()
            return {
                "seconds": round(seconds, 3),
                "faults": faults,
                "run_status": _last_status(api, rule),
                "agree_ratio": round(faulty.agree_ratio, 4),
                "disagreements": dict(faulty.by_problem()),
                **_converge(api, rule, target),
            }


def _converge(api: Api, rule: str, target: Any) -> dict[str, Any]:
    first: float | None = None
    for run in range(1, MAX_CLEAN_RUNS + 1):
        run_resync(api, rule, timeout=600)
        report = rule_truth(api, rule, target.direct)
        if first is None:
            first = report.agree_ratio
            after_clean = dict(report.by_problem())
        if not report.disagreements:
            return {
                "agree_ratio_after_clean": round(first, 4),
                "clean_runs_to_converge": run,
                "disagreements_after_clean": after_clean,
            }
    return {
        "agree_ratio_after_clean": round(first or 0.0, 4),
        "clean_runs_to_converge": None,
        "disagreements_after_clean": after_clean,
    }


def _last_status(api: Api, rule: str) -> str:
    data = api(
        "query($id: ID!) { rule(id: $id) { runs(first: 1) { edges { node { status } } } } }",
        {"id": rule},
    )
    edges = data["rule"]["runs"]["edges"]
    return str(edges[0]["node"]["status"]) if edges else "NONE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 users instead of 1,000")
    parser.add_argument("--users", type=int, default=None)
    args = parser.parse_args()
    users = args.users or (100 if args.quick else 1000)
    print(f"truth benchmark: {users} users (+1 refused), {GROUPS} groups", flush=True)
    one_mix("fault_free", 10)  # warm-up: imports and first-request costs stay out of the figures
    baseline = one_mix("fault_free", users)
    print(f"  fault_free: {baseline['seconds']:.2f}s agree {baseline['agree_ratio']}", flush=True)
    results: dict[str, Any] = {}
    for name in sorted(MIXES):
        result = one_mix(name, users)
        result["time_ratio"] = round(result["seconds"] / max(baseline["seconds"], 1e-9), 2)
        results[name] = result
        print(
            f"  {name}: run {result['run_status']} in {result['seconds']:.2f}s "
            f"(x{result['time_ratio']}), faults {result['faults']}, "
            f"agree {result['agree_ratio']} -> {result['agree_ratio_after_clean']} "
            f"after one clean resync, converged after {result['clean_runs_to_converge']}; "
            f"disagreements {result['disagreements']}",
            flush=True,
        )
    summary = {
        "users": users,
        "groups": GROUPS,
        "baseline_seconds": baseline["seconds"],
        "baseline_agree_ratio": baseline["agree_ratio"],
        "mixes": {
            name: {
                "agree_ratio": r["agree_ratio"],
                "agree_ratio_after_clean": r["agree_ratio_after_clean"],
                "clean_runs_to_converge": r["clean_runs_to_converge"],
                "time_ratio": r["time_ratio"],
                "run_status": r["run_status"],
                "disagreements": r["disagreements"],
            }
            for name, r in results.items()
        },
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
