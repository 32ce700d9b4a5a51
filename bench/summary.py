"""How the cost of a rule summary grows with the data (server-side, schema executed in-process).

One rule with 1,000,000 user states, 200 rules with 5,000 each, and one rule with none:
(a) ``rule(id:) { summary }`` for the big rule, (a0) the same for the empty rule, and
(b) ``rules(first: N)`` with summaries for N = 20 and 200, counting SQL statements.
Last line: JSON with summary_1m_to_empty, rules_page_statements_20/200 and the raw times.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed import seed
from provisync.api.context import Context
from provisync.api.schema import build_schema
from provisync.services import Services
from provisync.settings import Settings

SUMMARY = (
    "summary { lastSync users { impacted success unsynced partialSynced failed writeBackFailures }"
    " groups { impacted success unsynced partialSynced failed } }"
)


def gid(pk: int) -> str:
    return base64.b64encode(f"Rule:{pk}".encode()).decode()


async def measure(path: Path, big: int, empty: int, repeats: int) -> dict[str, float]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", max_page_size=200)
    services = Services.build(settings)
    schema = build_schema(settings)
    statements = 0

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    async def run(query: str, variables: dict[str, object]) -> tuple[float, int]:
        nonlocal statements
        statements = 0
        started = time.perf_counter()
        result = await schema.execute(
            query, variable_values=variables, context_value=Context(services=services)
        )
        elapsed = time.perf_counter() - started
        assert result.errors is None, result.errors
        return elapsed, statements

    one = "query($id: ID!) { rule(id: $id) { " + SUMMARY + " } }"
    page = (
        "query($n: Int!) { rules(first: $n) { totalCount edges { node { id name status "
        + SUMMARY
        + " } } } }"
    )
    figures: dict[str, float] = {}
    for label, rule_id in (("a_big_rule_ms", big), ("a0_empty_rule_ms", empty)):
        await run(one, {"id": gid(rule_id)})  # warm the caches
        times = [(await run(one, {"id": gid(rule_id)}))[0] for _ in range(repeats)]
        figures[label] = statistics.median(times) * 1000
    for n in (20, 200):
        await run(page, {"n": n})
        samples = [await run(page, {"n": n}) for _ in range(max(3, repeats // 10))]
        figures[f"rules_page_{n}_ms"] = statistics.median(t for t, _ in samples) * 1000
        figures[f"rules_page_statements_{n}"] = samples[-1][1]
    await services.db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100,000 states and 200 x 500")
    args = parser.parse_args()
    big_n, each_n = (100_000, 500) if args.quick else (1_000_000, 5_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        ids = seed(path, [("big", big_n), *((f"r{i}", each_n) for i in range(200)), ("empty", 0)])
        print(f"seeded {big_n + 200 * each_n:,} states in {time.perf_counter() - started:.1f}s")
        figures = asyncio.run(measure(path, ids[0], ids[-1], repeats=50 if args.quick else 200))
    ratio = figures["a_big_rule_ms"] / figures["a0_empty_rule_ms"]
    print(
        f"(a)  summary of the rule with {big_n:,} states: {figures['a_big_rule_ms']:.3f} ms (median)"
    )
    print(
        f"(a0) summary of the rule with no states:       {figures['a0_empty_rule_ms']:.3f} ms (median)"
    )
    print(f"     ratio a/a0: {ratio:.2f} (goal <= 1.5)")
    for n in (20, 200):
        print(
            f"(b)  rules(first: {n}) with summaries: {figures[f'rules_page_{n}_ms']:.2f} ms, "
            f"{figures[f'rules_page_statements_{n}']:.0f} SQL statements (goal <= 5)"
        )
    print(
        json.dumps(
            {
                "summary_1m_to_empty": round(ratio, 3),
                "rules_page_statements_20": int(figures["rules_page_statements_20"]),
                "rules_page_statements_200": int(figures["rules_page_statements_200"]),
                "big_rule_states": big_n,
                **{k: round(v, 3) for k, v in figures.items() if k.endswith("_ms")},
            }
        )
    )


if __name__ == "__main__":
    main()
