from tests.support.api import Api


def test_health_and_connector_types(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}
    assert api.http.get("/readyz").json()["status"] == "ready"
    names = [t["name"] for t in api("{ connectorTypes { name secretFields } }")["connectorTypes"]]
    assert "memory" in names
