"""Hostile GraphQL documents and bodies shared by the round-two tests and the fuzz test."""

from __future__ import annotations


def doubling_fragments(count: int, leaf: str = "totalCount") -> str:
    """``count`` fragments where F_n spreads F_{n-1} twice: exponential to walk naively."""
    parts = [f"query Doubling {{ rules {{ ...F{count} }} }}", f"fragment F0 on RuleConnection {{ {leaf} }}"]
    parts += [
        f"fragment F{n} on RuleConnection {{ ...F{n - 1} ...F{n - 1} }}"
        for n in range(1, count + 1)
    ]
    return "\n".join(parts)


def deep_json(depth: int) -> bytes:
    """A GraphQL body whose variables nest ``depth`` lists deep."""
    return (
        b'{"query": "{ rules { totalCount } }", "variables": {"v": '
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


NOT_UTF8 = b'{"query": "{ rules { totalCount } }", "variables": {"v": "\xff\xfe\xc3"}}'
SUBSCRIPTION = 'subscription { syncRunProgress(runId: "U3luY1J1bjox") { id status } }'
HUGE_ID_QUERY = "query($id: ID!) { node(id: $id) { id } }"
