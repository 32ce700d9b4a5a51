"""Which CEL implementation mappings use: cel-python (pure Python) against
common-expression-language (Rust-backed), on the mapping work itself.

Both compile the same 12 mapping expressions once, then evaluate each for every user
(100,000 by default; --quick: 10,000 for the Rust one, 2,000 for the pure Python one), with
the same Python mapping functions registered in both. Last line, JSON: evaluations per
second for each and the ratio.
"""

from __future__ import annotations

import argparse
import json
import time
import unicodedata
from collections.abc import Callable
from typing import Any

EXPRESSIONS = [
    'join(" ", [givenName, familyName])',
    "lower(email)",
    "upper(department)",
    'replace(title, "Sr.", "Senior")',
    "substring(employeeId, 0, 4)",
    'lookup({"Sales": "S01", "Engineering": "E02"}, department, "X99")',
    'coalesce([displayName, givenName, userName])',
    "normalise(familyName)",
    'split(email, "@")[0]',
    'givenName + "." + familyName',
    'size(userName) > 3 ? userName : "short"',
    '"Mr " + familyName',
]


def _join(sep: str, items: list[Any]) -> str:
    return sep.join(str(i) for i in items if i not in (None, ""))


def _normalise(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )


def _lookup(table: dict[str, Any], key: Any, default: Any) -> Any:
    return table.get(key, default)


def _coalesce(items: list[Any]) -> Any:
    return next((i for i in items if i not in (None, "")), None)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "join": _join,
    "lower": str.lower,
    "upper": str.upper,
    "replace": lambda s, a, b: s.replace(a, b),
    "substring": lambda s, a, b: s[a:b],
    "lookup": _lookup,
    "coalesce": _coalesce,
    "normalise": _normalise,
    "split": lambda s, sep: s.split(sep),
}


def users(count: int) -> list[dict[str, Any]]:
    return [
        {
            "userName": f"user{i}",
            "givenName": "Zoë",
            "familyName": f"Müller{i}",
            "displayName": None if i % 2 else f"Zoë Müller{i}",
            "email": f"Zoe.Muller{i}@Example.com",
            "department": "Sales" if i % 3 else "Legal",
            "title": "Sr. Engineer",
            "employeeId": f"E{i:06d}",
        }
        for i in range(count)
    ]


def rust(people: list[dict[str, Any]]) -> tuple[float, float]:
    import cel

    started = time.perf_counter()
    programs = [cel.compile(e) for e in EXPRESSIONS]
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    for person in people:
        ctx = cel.Context(person, FUNCTIONS)
        for program in programs:
            program.execute(ctx)
    return compiled, time.perf_counter() - started


def pure(people: list[dict[str, Any]]) -> tuple[float, float]:
    import celpy
    from celpy import celtypes

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            return celpy.json_to_cel(fn(*[_plain(a) for a in args]))

        return call

    def _plain(value: Any) -> Any:
        if isinstance(value, celtypes.StringType):
            return str(value)
        if isinstance(value, celtypes.IntType):
            return int(value)
        if isinstance(value, celtypes.ListType):
            return [_plain(v) for v in value]
        if isinstance(value, celtypes.MapType):
            return {_plain(k): _plain(v) for k, v in value.items()}
        return value

    started = time.perf_counter()
    env = celpy.Environment()
    functions = {name: wrap(fn) for name, fn in FUNCTIONS.items()}
    programs = [env.program(env.compile(e), functions=functions) for e in EXPRESSIONS]
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    for person in people:
        activation = celpy.json_to_cel(person)
        for program in programs:
            program.evaluate(activation)
    return compiled, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    rust_users = 10_000 if args.quick else args.users
    pure_users = 2_000 if args.quick else args.users
    figures: dict[str, float] = {}
    for name, fn, count in (("rust", rust, rust_users), ("pure_python", pure, pure_users)):
        compile_s, eval_s = fn(users(count))
        rate = count * len(EXPRESSIONS) / eval_s
        print(
            f"{name}: compile 12 expressions {compile_s * 1000:.1f} ms; "
            f"{count} users x 12 in {eval_s:.2f} s = {rate:,.0f} evaluations/s"
        )
        figures[f"{name}_evaluations_per_second"] = round(rate)
        figures[f"{name}_compile_ms"] = round(compile_s * 1000, 2)
    figures["rust_to_pure_ratio"] = round(
        figures["rust_evaluations_per_second"] / figures["pure_python_evaluations_per_second"], 1
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
