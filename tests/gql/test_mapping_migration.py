"""Migration 0012: a database with today's mappings keeps producing the same target values."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import MetaData, create_engine, select

from provisync.demo.scim_target import build_scim_target_app
from provisync.store.db import upgrade
from tests.support.api import running_api
from tests.support.scenario import full_resync
from tests.support.servers import serve_asgi


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "")


def test_old_mappings_become_entries_and_sync_the_same_values(database_url: str) -> None:
    upgrade(database_url, "0006")
    engine = create_engine(_sync_url(database_url))
    now = datetime.now(UTC)
    with serve_asgi(build_scim_target_app()) as url:
        base = f"{url}/v2"
        try:
            meta = MetaData()
            meta.reflect(engine, only=["provisioning_connection", "rule", "directory_user"])
            tables = meta.tables
            with engine.begin() as db:
                conn_id = db.execute(
                    tables["provisioning_connection"]
                    .insert()
                    .values(
                        name="old", connector_type="scim", settings={"base_url": base},
                        secrets={}, created_at=now, updated_at=now,
                    )
                    .returning(tables["provisioning_connection"].c.id)
                ).scalar_one()  # fmt: skip
                for mappings in ({"title": "department", "displayName": "email"}, {}):
                    db.execute(
                        tables["rule"].insert().values(
                            name=f"old {len(mappings)}", enabled=False, direction="OUTBOUND",
                            connection_id=conn_id, group_ids=[], attribute_mappings=mappings,
                            deprovision_action="DISABLE", poll_interval_seconds=900,
                            failure_streak=0, created_at=now, updated_at=now,
                        )
                    )  # fmt: skip
                db.execute(
                    tables["directory_user"].insert().values(
                        user_name="dora", given_name="Dora", family_name="Explorer",
                        email="dora@example.com", title="Guide", department="Maps",
                        active=True, created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            upgrade(database_url)
            meta = MetaData()
            meta.reflect(engine, only=["rule", "directory_user"])
            assert "attribute_mappings" not in meta.tables["rule"].c
            with engine.connect() as db:
                rows = db.execute(
                    select(meta.tables["rule"].c.name, meta.tables["rule"].c.mappings)
                ).all()
                extensions = db.execute(
                    select(meta.tables["directory_user"].c.extension_attributes)
                ).scalar_one()
            assert extensions == {}
            entries = {name: {e["target"]: e for e in m} for name, m in rows}
            overridden = entries["old 2"]
            assert overridden["title"]["value"] == "department"
            assert overridden["displayName"]["value"] == "email"
            assert overridden["userName"]["matching"] is True
            assert all(e["source"] == "FIELD" for e in overridden.values())
            assert {t: e["value"] for t, e in entries["old 0"].items()} == {
                t: t for t in entries["old 0"]
            }
        finally:
            engine.dispose()

        with running_api(database_url) as api:
            listed = api("{ rules(first: 5) { edges { node { id name attributeMappings } } } }")
            rules = {e["node"]["name"]: e["node"] for e in listed["rules"]["edges"]}
            assert rules["old 2"]["attributeMappings"] == {
                "title": "department",
                "displayName": "email",
            }
            enabled = api(
                "mutation($id: ID!) { setRuleEnabled(ruleId: $id, enabled: true) { __typename } }",
                {"id": rules["old 2"]["id"]},
            )
            assert enabled["setRuleEnabled"]["__typename"] == "Rule", enabled
            run = full_resync(api, rules["old 2"]["id"])
            if run["__typename"] == "SyncRun":
                assert api.wait_run(run["id"])["status"] == "SUCCEEDED"
            api.wait_idle(rules["old 2"]["id"])
            body = httpx.get(f"{base}/Users", params={"filter": 'userName eq "dora"'}).json()
            (dora,) = body["Resources"]
            assert dora["title"] == "Maps"
            assert dora["displayName"] == "dora@example.com"
            assert dora["name"] == {"givenName": "Dora", "familyName": "Explorer"}
            assert dora["emails"][0]["value"] == "dora@example.com"
