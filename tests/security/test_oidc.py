"""OIDC bearer JWTs from a test issuer whose JWKS is served on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.security.support import SecureServer, secure_server
from tests.support.servers import serve_asgi

ISSUER = "https://issuer.provisync.test"
AUDIENCE = "provisync-api"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    jwk.update(kid="test-key", use="sig", alg="RS256")
    fetches: list[int] = []

    async def jwks(_request: Request) -> JSONResponse:
        fetches.append(1)
        return JSONResponse({"keys": [jwk]})

    with serve_asgi(Starlette(routes=[Route("/jwks", jwks)])) as base_url:
        yield f"{base_url}/jwks"


@pytest.fixture(scope="module")
def oidc_server(jwks_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureServer]:
    path: Path = tmp_path_factory.mktemp("oidc")
    with secure_server(
        f"sqlite+aiosqlite:///{path / 'oidc.db'}",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks_url,
        oidc_role_claim="roles",
    ) as running:
        yield running


def make_jwt(key: Any = KEY, kid: str = "test-key", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u-1",
        "preferred_username": "alice",
        "iat": now,
        "exp": now + 300,
        "roles": ["operator"],
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


RESYNC_USER = 'mutation { r: createDirectoryUser(input: {userName: "%s"}) { __typename } }'


def post(server: SecureServer, token: str, query: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_valid_jwt_is_accepted_with_its_role_and_name(oidc_server: SecureServer) -> None:
    response = post(oidc_server, make_jwt(), RESYNC_USER % "via-oidc")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["r"]["__typename"] == "DirectoryUser"
    viewer = post(oidc_server, make_jwt(roles=["viewer"]), RESYNC_USER % "viewer-oidc")
    assert viewer.json()["data"]["r"]["__typename"] == "ForbiddenError"
    admin = post(
        oidc_server,
        make_jwt(roles="admin", preferred_username="root"),
        """mutation { r: createProvisioningConnection(input: {name: "oidc-conn", connectorType: "memory",
                    settings: {store: "o"}}) { __typename } }""",
    )
    assert admin.json()["data"]["r"]["__typename"] == "ProvisioningConnection"
    actors = oidc_server.query_db(
        "SELECT actor FROM audit_event WHERE operation = 'CREATE_CONNECTION'"
    )
    assert actors == [("oidc:root",)]


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: make_jwt(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200), id="expired"
        ),
        pytest.param(lambda: make_jwt(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda: make_jwt(iss="https://evil.test"), id="wrong-issuer"),
        pytest.param(lambda: make_jwt(key=OTHER_KEY), id="wrongly-signed"),
        pytest.param(lambda: make_jwt(key=OTHER_KEY, kid="unknown"), id="unknown-key"),
        pytest.param(lambda: make_jwt(roles=None), id="no-role"),
        pytest.param(lambda: make_jwt(roles=["superuser"]), id="unknown-role"),
        pytest.param(lambda: make_jwt(exp=None), id="no-expiry"),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": AUDIENCE,
                    "sub": "x",
                    "roles": "admin",
                    "exp": int(time.time()) + 60,
                },
                None,
                algorithm="none",
            ),
            id="alg-none",
        ),
        pytest.param(
            lambda: jwt.encode(
                {
                    "iss": ISSUER,
                    "aud": AUDIENCE,
                    "sub": "x",
                    "roles": "admin",
                    "exp": int(time.time()) + 60,
                },
                "shared-secret-that-is-long-enough-000",
                algorithm="HS256",
                headers={"kid": "test-key"},
            ),
            id="hs256-confusion",
        ),
    ],
)
def test_bad_jwts_are_refused(oidc_server: SecureServer, token: Any) -> None:
    response = post(oidc_server, token(), "{ rules { totalCount } }")
    assert response.status_code == 401, response.text
