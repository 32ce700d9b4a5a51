"""scim2-server for the benchmarks: counts the requests it answers, and can answer late.

``uvicorn --app-dir bench --factory scim_bench_target:build``. ``BENCH_TARGET_DELAY`` seconds
(default 0) are waited before each answer, as a SaaS across a network would: the wait is a
sleep, so it costs the server no CPU and requests in flight overlap their waits. ``GET
/bench/requests`` answers the counts so far, by method and resource (listings and filters
apart), as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

from provisync.demo.scim_target import build_scim_target_app


def kind_of(scope: dict[str, Any]) -> str:
    resource = scope["path"].rstrip("/").split("/")[-1] or "/"
    query = parse_qs(scope.get("query_string", b"").decode())
    if "filter" in query:
        resource += " (filter)"
    elif query.get("count") == ["0"]:
        resource += " (count)"
    elif "startIndex" in query:
        resource += " (listing page)"
    return f"{scope['method']} {resource}"


def build() -> Any:
    app = build_scim_target_app()
    delay = float(os.environ.get("BENCH_TARGET_DELAY", "0"))
    answered: Counter[str] = Counter()

    async def bench_target(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bench/requests":
            body = json.dumps(dict(sorted(answered.items()))).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            answered[kind_of(scope)] += 1
            if delay:
                await asyncio.sleep(delay)
        await app(scope, receive, send)

    return bench_target
