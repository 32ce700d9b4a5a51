"""The fault proxy does what it says, on real sockets, in front of a real scim2-server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gql.demo.scim_target import build_scim_target_app
from tests.support.faults import FaultProxy, FaultRule, fault_proxy
from tests.support.servers import serve_asgi

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "proxy.user"}


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    with serve_asgi(build_scim_target_app()) as upstream, fault_proxy(upstream) as running:
        yield running


def users_at(proxy: FaultProxy) -> list[str]:
    body = httpx.get(f"{proxy.upstream}/v2/Users").json()
    return [u["userName"] for u in body.get("Resources", [])]


def test_statuses_garbage_and_counts(proxy: FaultProxy) -> None:
    url = f"{proxy.url}/v2/Users"
    proxy.add(
        FaultRule("429", method="GET", nth=1, retry_after="7"),
        FaultRule("html", method="GET", nth=2),
        FaultRule("empty_201", method="POST"),
    )
    throttled = httpx.get(url)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    page = httpx.get(url)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    created = httpx.post(url, json=USER)
    assert created.status_code == 201 and created.content == b""
    assert users_at(proxy) == ["proxy.user"]  # the target did create it
    assert httpx.get(url).json()["totalResults"] == 1  # no rule left for the third GET
    assert proxy.counts["429"] == proxy.counts["html"] == proxy.counts["empty_201"] == 1


def test_lost_answers_resets_and_cut_off_bodies(proxy: FaultProxy) -> None:
    url = f"{proxy.url}/v2/Users"
    proxy.hang_seconds = 1.0
    proxy.add(FaultRule("hang_forward", method="POST", times=1))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, json=USER, timeout=0.3)
    proxy.settle()
    assert users_at(proxy) == ["proxy.user"]  # applied, though the answer never came
    proxy.add(FaultRule("reset", times=1))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(url)
    proxy.add(FaultRule("truncated", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert httpx.get(url).status_code == 200


def test_down_and_back(proxy: FaultProxy) -> None:
    url = f"{proxy.url}/v2/ServiceProviderConfig"
    proxy.down()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    proxy.up()
    assert httpx.get(url).status_code == 200


def test_fractions_hit_the_same_requests_whatever_the_order(proxy: FaultProxy) -> None:
    paths = [f"/v2/Users?count={n}" for n in range(30)]

    def hit(order: list[str]) -> set[str]:
        proxy.clear()
        proxy.seen.clear()
        proxy.add(FaultRule("503", fraction=0.3))
        with httpx.Client(base_url=proxy.url) as client:
            return {p for p in order if client.get(p).status_code == 503}

    first = hit(paths)
    assert 0 < len(first) < len(paths)
    assert hit(list(reversed(paths))) == first


def test_shapes(proxy: FaultProxy) -> None:
    proxy.shape.no_etag = proxy.shape.strict_filter = proxy.shape.patch_204 = True
    proxy.shape.existing_members_only = proxy.shape.computed_user_groups = True
    base = f"{proxy.url}/v2"
    config = httpx.get(f"{base}/ServiceProviderConfig").json()
    assert config["etag"] == {"supported": False}
    created = httpx.post(f"{base}/Users", json=USER)
    assert "etag" not in created.headers and "version" not in created.json()["meta"]
    uid = created.json()["id"]
    refused = httpx.get(f"{base}/Users", params={"filter": 'userName eq "a\\"b"'})
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidFilter"
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    dead = httpx.post(f"{base}/Groups", json={**group, "members": [{"value": "nobody"}]})
    assert dead.status_code == 400
    made = httpx.post(f"{base}/Groups", json={**group, "members": [{"value": uid}]})
    assert made.status_code == 201
    assert httpx.get(f"{base}/Users/{uid}").json()["groups"][0]["value"] == made.json()["id"]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Lead"}],
    }
    patched = httpx.patch(f"{base}/Users/{uid}", json=patch)
    assert patched.status_code == 204 and patched.content == b""
