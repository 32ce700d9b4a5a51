"""provisync (or any server) as a real subprocess, and waiting for it to be ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any PROVISYNC_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISYNC_")}
    return {**env, **extra}


@contextmanager
def provisync_process(args: list[str], env: Mapping[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``python -m provisync.cli ARGS`` with its output captured; terminated on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "provisync.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(env),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def wait_until(
    process: subprocess.Popen[str], ready: Callable[[], bool], timeout: float, what: str
) -> None:
    """Poll ``ready`` (HTTP errors count as not ready) while the process lives."""
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{what} within {timeout:g}s"
        time.sleep(0.2)
