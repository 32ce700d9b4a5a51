"""Bearer, basic and OAuth 2.0 client credentials; rejected credentials fail the run."""

from __future__ import annotations

import pytest

from provisync_sdk import AuthenticationFailed, DesiredUser, EntityState, ReconcileRequest
from tests.connectors.scim.conftest import MakeConnector, reconcile, unique
from tests.connectors.scim.target import Control


def one_user() -> ReconcileRequest:
    return ReconcileRequest(users=[DesiredUser("u", {"userName": unique(), "active": True})])


async def test_bearer(make_connector: MakeConnector, target: Control) -> None:
    target.bearer_tokens = {"s3cret-token"}
    outcome = (await reconcile(make_connector(auth="bearer", token="s3cret-token"), one_user()))[
        "u"
    ]
    assert outcome.state is EntityState.SUCCESS
    with pytest.raises(AuthenticationFailed) as failure:
        await make_connector(auth="bearer", token="s3cret-wrong").reconcile(one_user())
    assert "401" in str(failure.value) and "s3cret" not in str(failure.value)
    result = await make_connector(auth="bearer", token="s3cret-wrong").test_connection()
    assert not result.ok and "s3cret" not in result.message


async def test_basic(make_connector: MakeConnector, target: Control) -> None:
    target.basic = ("provisync", "s3cret-pass")
    connector = make_connector(auth="basic", username="provisync", password="s3cret-pass")
    assert (await reconcile(connector, one_user()))["u"].state is EntityState.SUCCESS
    assert (await connector.test_connection()).ok
    wrong = make_connector(auth="basic", username="provisync", password="nope")
    with pytest.raises(AuthenticationFailed):
        await wrong.reconcile(one_user())


async def test_oauth_client_credentials_cached_and_refreshed(
    make_connector: MakeConnector, target: Control, server: str
) -> None:
    target.oauth_clients = {"provisync": "s3cret-client"}
    target.bearer_tokens = {"placeholder-so-auth-is-required"}
    settings = {
        "auth": "oauth2",
        "token_url": f"{server}/oauth/token",
        "client_id": "provisync",
        "client_secret": "s3cret-client",
        "scope": "scim",
    }
    connector = make_connector(**settings)
    for _ in range(3):
        assert (await reconcile(connector, one_user()))["u"].state is EntityState.SUCCESS
    assert target.token_requests == 1  # cached across many requests

    # the target forgets the token (revoked): one 401, a new token, and the run goes on
    target.bearer_tokens = {"placeholder-so-auth-is-required"}
    assert (await reconcile(connector, one_user()))["u"].state is EntityState.SUCCESS
    assert target.token_requests == 2

    # short-lived tokens are replaced before they expire
    target.oauth_lifetime = 1
    short = make_connector(**settings, token_auth_method="client_secret_post")
    await reconcile(short, one_user())
    before = target.token_requests
    import asyncio

    await asyncio.sleep(1.1)
    await reconcile(short, one_user())
    assert target.token_requests == before + 1

    bad = make_connector(**{**settings, "client_secret": "s3cret-wrong"})
    with pytest.raises(AuthenticationFailed) as failure:
        await bad.reconcile(one_user())
    assert "invalid_client" in str(failure.value) and "s3cret" not in str(failure.value)
