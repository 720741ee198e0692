"""`/health`: 200 with MongoDB's version when it is up, 503 with ok=false when it is down."""

from __future__ import annotations

from pathlib import Path

import httpx

from scrm import __version__
from scrm.app import create_app
from scrm.db import Database
from scrm.embedded import EmbeddedMongo
from scrm.settings import Settings
from tests.conftest import free_port, serving


async def test_health_reports_mongodb_ok_and_primary(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["mongodb"] == {"ok": True, "version": "6.0.5", "primary": True}


async def test_health_is_503_when_mongodb_goes_down(tmp_path: Path) -> None:
    server = EmbeddedMongo(tmp_path / "home", free_port())
    server.start()
    settings = Settings.from_env({"SCRM_MONGODB_URI": server.uri, "SCRM_HOME": str(tmp_path / "home")})
    try:
        async with serving(create_app(settings)) as client:
            assert (await client.get("/health")).status_code == 200
            server.stop()
            response = await client.get("/health")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "unavailable"
            assert body["mongodb"]["ok"] is False
            assert body["mongodb"]["error"]
    finally:
        server.stop()


async def test_health_is_documented_in_the_openapi_schema(client: httpx.AsyncClient, database: Database) -> None:
    response = await client.get("/api/v1/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "scrm API"
    assert "/health" in schema["paths"]
    viewer = await client.get("/api/v1/schema")
    assert viewer.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in viewer.text
