"""API tokens: 401 without them, stored only as hashes, the CLI, revocation; open endpoints."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gql import cli
from gql.security.tokens import add_token_commands
from tests.security.support import SecureServer, make_settings, secure_server
from tests.support.processes import clean_env, provisync_process, wait_until
from tests.support.servers import free_port


def test_unauthenticated_http_gets_401_and_health_stays_open(server: SecureServer) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer psy_wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer a.b.c"},
    ):
        response = httpx.post(
            f"{server.base_url}/graphql",
            json={"query": "{ rules { totalCount } }"},
            headers=headers,
        )
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
    get = httpx.get(f"{server.base_url}/graphql", params={"query": "{ rules { totalCount } }"})
    assert get.status_code == 401
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
    assert httpx.get(f"{server.base_url}/readyz").status_code == 200
    ide = httpx.get(f"{server.base_url}/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200 and "graphiql" in ide.text.lower()
    assert httpx.get(f"{server.base_url}/").status_code == 200  # the console page itself


def test_metrics_need_a_token_when_authentication_is_on(server: SecureServer) -> None:
    assert httpx.get(f"{server.base_url}/metrics").status_code == 401
    scraped = httpx.get(
        f"{server.base_url}/metrics",
        headers={"Authorization": f"Bearer {server.tokens['viewer']}"},
    )
    assert scraped.status_code == 200 and "provisync_" in scraped.text


def test_tokens_are_stored_only_as_hashes(server: SecureServer) -> None:
    rows = server.query_db(
        "SELECT name, role, hash, created_at, revoked_at, last_used_at FROM api_token"
    )
    by_name = {row[0]: row for row in rows}
    for role, token in server.tokens.items():
        _name, stored_role, digest, *_ = by_name[f"{role}-token"]
        assert stored_role == role
        assert digest == hashlib.sha256(token.encode()).hexdigest()
        assert all(token not in str(cell) for row in rows for cell in row)
    raw = (
        Path(server.database_url.split("///", 1)[1]).read_bytes()
        if "sqlite" in server.database_url
        else b""
    )
    for token in server.tokens.values():
        assert token.encode() not in raw


def test_last_used_is_recorded(server: SecureServer) -> None:
    server.client("viewer")("{ rules { totalCount } }")
    used = server.query_db("SELECT last_used_at FROM api_token WHERE name = 'viewer-token'")
    assert used[0][0] is not None


def _parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    sub_actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if "token" not in sub_actions[0].choices:  # the lead has not wired the CLI yet
        add_token_commands(sub_actions[0], cli._database_arg, cli._settings)
    return parser


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    args = _parser().parse_args(argv)
    code = int(args.func(args))
    return code, capsys.readouterr().out


def test_cli_creates_and_revokes_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    code, out = _run(
        ["token", "create", "--role", "operator", "--name", "ci", "--database-url", url], capsys
    )
    assert code == 0
    token = out.strip().splitlines()[-1].split()[-1]
    assert token.startswith("psy_")
    code, out = _run(
        ["token", "create", "--role", "viewer", "--name", "ci", "--database-url", url], capsys
    )
    assert code == 1 and "exists" in out
    with secure_server(url) as running:
        api = running.bearer(token)
        made = api(
            """mutation { r: createDirectoryUser(input: {userName: "cli-made"}) { __typename } }"""
        )
        assert made["r"]["__typename"] == "DirectoryUser"
        code, out = _run(["token", "revoke", "ci", "--database-url", url], capsys)
        assert code == 0
        refused = httpx.post(
            f"{running.base_url}/graphql",
            json={"query": "{ rules { totalCount } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 401
        events = running.query_db(
            "SELECT operation, actor FROM audit_event WHERE operation LIKE '%TOKEN'"
        )
        assert {op for op, _actor in events} >= {"CREATE_TOKEN", "REVOKE_TOKEN"}
        assert all(actor.startswith("cli") or actor == "test" for _op, actor in events)
    code, out = _run(["token", "revoke", "nobody", "--database-url", url], capsys)
    assert code == 1


def test_without_auth_required_callers_are_anonymous_admins_but_bad_tokens_fail(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'open.db'}"
    with secure_server(url, auth_required=False) as running:
        anonymous = httpx.post(
            f"{running.base_url}/graphql",
            json={
                "query": 'mutation { r: createDirectoryUser(input: {userName: "anon"}) { __typename } }'
            },
        )
        assert anonymous.json()["data"]["r"]["__typename"] == "DirectoryUser"
        actor = running.query_db("SELECT count(*) FROM directory_user WHERE user_name = 'anon'")
        assert actor[0][0] == 1
        wrong = httpx.post(
            f"{running.base_url}/graphql",
            json={"query": "{ rules { totalCount } }"},
            headers={"Authorization": "Bearer psy_wrong"},
        )
        assert wrong.status_code == 401
        viewer = running.client("viewer")
        refused = viewer(
            'mutation { r: createDirectoryUser(input: {userName: "v"}) { __typename } }'
        )
        assert refused["r"]["__typename"] == "ForbiddenError"


def test_serve_defaults() -> None:
    from gql.security.config import auth_default_for_host, auth_notice, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert auth_default_for_host("0.0.0.0", {}) is True
    assert auth_default_for_host("127.0.0.1", {}) is True  # serve: loopback is no exemption
    assert auth_default_for_host("0.0.0.0", {"PROVISYNC_AUTH_REQUIRED": "false"}) is None
    assert "no credentials" in auth_notice(make_settings("sqlite://", auth_required=False))
    assert "required" in auth_notice(make_settings("sqlite://"))


def test_serve_needs_a_secret_key_and_a_new_one_is_printed_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROVISYNC_SECRET_KEY", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path / 'nokey.db'}"
    assert cli.main(["serve", "--database-url", url]) == 2
    assert "PROVISYNC_SECRET_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "nokey.db").exists()  # refused before anything was written
    assert cli.main(["secret-key"]) == 0
    Fernet(capsys.readouterr().out.strip().encode())  # a valid key


def test_serve_on_a_non_loopback_address_requires_a_token(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(
        PROVISYNC_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        PROVISYNC_SECRET_KEY=Fernet.generate_key().decode(),
    )
    made = subprocess.run(
        [sys.executable, "-m", "gql.cli", "token", "create", "--role", "viewer", "--name", "s"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1].split()[-1]
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--host", "0.0.0.0", "--port", str(port)]
    with provisync_process(args, env) as server:
        wait_until(
            server,
            lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200,
            30,
            "provisync serve did not start",
        )
        query = {"query": "{ rules { totalCount } }"}
        assert httpx.post(f"{base}/graphql", json=query).status_code == 401
        allowed = httpx.post(
            f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert allowed.json() == {"data": {"rules": {"totalCount": 0}}}
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert "authentication required" in output
    assert token not in output


def test_serve_on_loopback_requires_a_token_and_logs_no_query_string_token(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = clean_env(
        PROVISYNC_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}",
        PROVISYNC_SECRET_KEY=Fernet.generate_key().decode(),
    )
    made = subprocess.run(
        [sys.executable, "-m", "gql.cli", "token", "create", "--role", "admin", "--name", "q"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1].split()[-1]
    base = f"http://127.0.0.1:{port}"
    with provisync_process(["serve", "--host", "127.0.0.1", "--port", str(port)], env) as server:
        wait_until(
            server,
            lambda: httpx.get(f"{base}/healthz", timeout=1).status_code == 200,
            30,
            "provisync serve did not start",
        )
        query = {"query": "{ rules { totalCount } }"}
        assert httpx.post(f"{base}/graphql", json=query).status_code == 401
        for name in ("access_token", "token", "auth"):
            sent = httpx.get(f"{base}/graphql", params={**query, name: token})
            assert sent.status_code == 401
        foreign = httpx.post(
            f"{base}/graphql",
            json=query,
            headers={"Authorization": f"Bearer {token}", "Host": "rebind.attacker.test"},
        )
        assert foreign.status_code == 400
        allowed = httpx.post(
            f"{base}/graphql", json=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert allowed.json() == {"data": {"rules": {"totalCount": 0}}}
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert "authentication required" in output
    assert "GET /graphql?" in output  # the access log is on, and shows the request
    assert token not in output and token[4:] not in output
