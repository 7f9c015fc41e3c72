"""/readyz: the database, the broker and the storage, each with its latency; 503 naming the one
that is down (a Redis the test kills, a database port that refuses or never answers)."""

from __future__ import annotations

import pytest

from .conftest import free_port


def test_readyz_answers_ready_with_the_latency_of_each_service(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ready"
    for name in ("database", "broker", "storage"):
        assert body[name]["ok"] is True, body
        assert isinstance(body[name]["ms"], float) and body[name]["ms"] >= 0
        assert "error" not in body[name]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # no session for a probe
    assert len(response.headers["X-Request-Id"]) == 32


def test_readyz_is_503_naming_the_broker_when_redis_goes_down(make_app, database_url, private_redis):
    app = make_app(database_url, BROKER_URL=private_redis.url, TASKS_EAGER=False)
    client = app.test_client()
    up = client.get("/readyz")
    assert up.status_code == 200 and up.json["broker"]["ok"] is True, up.json

    private_redis.stop()
    down = client.get("/readyz")
    assert down.status_code == 503, down.json
    body = down.json
    assert body["status"] == "unavailable"
    assert body["broker"]["ok"] is False and "Connection" in body["broker"]["error"], body
    assert body["database"]["ok"] is True and body["storage"]["ok"] is True
    assert down.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_readyz_is_503_naming_the_database_when_it_refuses_connections(make_app, database_url):
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/grants"
    app = make_app(closed)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["database"]["ok"] is False and "OperationalError" in body["database"]["error"], body
    assert body["broker"]["ok"] is True and body["storage"]["ok"] is True


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_readyz_answers_even_when_the_database_never_answers(make_app, database_url, silent_server):
    """A hung database (packets dropped, a server stuck): the check gives up after READYZ_TIMEOUT and
    the probe gets its 503; a second probe does not pile another waiting thread on the first."""
    hung = f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/grants"
    app = make_app(hung, READYZ_TIMEOUT=0.5)
    client = app.test_client()
    first = client.get("/readyz")
    assert first.status_code == 503
    assert first.json["database"] == {"ok": False, "ms": 500.0, "error": "no answer within 0.5 s"}
    assert first.json["broker"]["ok"] is True and first.json["storage"]["ok"] is True
    second = client.get("/readyz")
    assert second.status_code == 503
    assert second.json["database"]["error"] == "the previous check has not answered yet"


def test_readyz_and_metrics_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
