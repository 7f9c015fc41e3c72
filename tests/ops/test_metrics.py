"""/metrics: Prometheus text for a bearer token or an allowed network, the site's 404 for anyone
else; the request histogram by route, the broker's queue depth, the alert lag and the failed
emails, each matching what the test created."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from conftest import NOW
from prometheus_client.parser import text_string_to_metric_families

from grants.core import clock
from grants.extensions import db

TOKEN = "metrics-token-for-tests"


def samples(response) -> dict:
    """{(name, frozenset(labels)): value} of a Prometheus text answer."""
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def scrape(client, **kwargs) -> dict:
    return samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs))


def notification(status: str, *, channel: str = "email", claimed_at=None, next_attempt_at=None):
    from grants.alerts.models import Notification

    note = Notification(
        key=f"test:{uuid.uuid4().hex}", kind="deadline", object_type="call", object_id=1,
        recipient=f"{uuid.uuid4().hex[:8]}@example.kz", channel=channel, status=status,
        claimed_at=claimed_at or NOW, next_attempt_at=next_attempt_at,
    )  # fmt: skip
    db.session.add(note)
    return note


def test_metrics_answer_404_to_anyone_without_the_token_or_an_allowed_address(make_app, database_url):
    app = make_app(database_url, METRICS_TOKEN=TOKEN, METRICS_ALLOW=["10.0.0.0/8", "fd00::/8"])
    client = app.test_client()
    assert client.get("/metrics").status_code == 404  # 127.0.0.1, the test client's address
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404  # no scheme
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.5"}).status_code == 404
    unknown, refused = client.get("/no-such-page"), client.get("/metrics")
    assert refused.content_type == unknown.content_type == "text/html; charset=utf-8"  # the ordinary 404 page
    assert "grants_" not in refused.get_data(as_text=True)


def test_metrics_are_404_when_neither_a_token_nor_networks_are_configured(make_app, database_url):
    client = make_app(database_url).test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 404


def test_a_wrong_network_in_the_allow_list_stops_the_app_at_start(make_app, database_url):
    with pytest.raises(ValueError):
        make_app(database_url, METRICS_ALLOW=["10.0.0.0/33"])


def test_metrics_from_an_allowed_network_count_the_embedded_brokers_queue(make_app, database_url):
    queue = f"ops-{uuid.uuid4().hex[:6]}"
    app = make_app(database_url, METRICS_ALLOW=["10.0.0.0/8", "fd00::/8"], TASKS_EAGER=False, TASK_QUEUE=queue)
    client = app.test_client()
    with app.app_context():
        from grants.core.tasks import enqueue

        for n in range(2):
            enqueue("grants.ping", f"v{n}")
    figures = samples(client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}))
    assert figures[("grants_queue_depth", frozenset({("queue", queue)}))] == 2
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "fd00::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "11.0.0.1"}).status_code == 404


def test_metrics_show_the_route_histogram_queue_depth_alert_lag_and_failed_emails(app, make_app, database_url,
                                                                                  redis_url):  # fmt: skip
    import redis

    url, prefix = redis_url
    queue = f"{prefix}-ops-{uuid.uuid4().hex[:6]}"
    web = make_app(database_url, METRICS_TOKEN=TOKEN, BROKER_URL=url, TASKS_EAGER=False, TASK_QUEUE=queue)
    client = web.test_client()
    notification("failed")
    notification("failed")
    notification("bounced")
    notification("failed", channel="sms")
    notification("sent")
    notification("claimed", claimed_at=NOW - timedelta(minutes=10))  # due 10 minutes ago
    notification("claimed", claimed_at=NOW - timedelta(hours=2), next_attempt_at=NOW - timedelta(minutes=4))
    notification("claimed", claimed_at=NOW - timedelta(hours=3), next_attempt_at=NOW + timedelta(minutes=5))  # not yet
    db.session.commit()
    try:
        with web.app_context():
            from grants.core.tasks import enqueue

            for n in range(3):
                enqueue("grants.ping", f"v{n}")
        route = ("grants_http_request_duration_seconds_count",
                 frozenset({("endpoint", "public.health"), ("method", "GET"), ("status", "2xx")}))  # fmt: skip
        before = scrape(client).get(route, 0)
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200
        with clock.travel(NOW):
            figures = scrape(client)
    finally:
        redis.Redis.from_url(url).delete(queue)
    assert figures[route] == before + 2
    bucket = ("grants_http_request_duration_seconds_bucket",
              frozenset({("endpoint", "public.health"), ("method", "GET"), ("status", "2xx"), ("le", "+Inf")}))  # fmt: skip
    assert figures[bucket] == before + 2
    assert figures[("grants_queue_depth", frozenset({("queue", queue)}))] == 3
    assert figures[("grants_emails_failed", frozenset())] == 2
    assert figures[("grants_notifications", frozenset({("channel", "sms"), ("status", "failed")}))] == 1
    assert figures[("grants_notifications", frozenset({("channel", "email"), ("status", "claimed")}))] == 3
    assert figures[("grants_alert_lag_seconds", frozenset())] == 600
    assert figures[("grants_metrics_source_up", frozenset({("source", "broker")}))] == 1
    assert figures[("grants_metrics_source_up", frozenset({("source", "database")}))] == 1
    assert ("process_resident_memory_bytes", frozenset()) in figures
    assert any(name == "python_info" for name, _labels in figures)


def test_metrics_still_answer_when_the_broker_is_down(make_app, database_url, private_redis):
    web = make_app(database_url, METRICS_TOKEN=TOKEN, BROKER_URL=private_redis.url, TASKS_EAGER=False)
    client = web.test_client()
    assert scrape(client)[("grants_metrics_source_up", frozenset({("source", "broker")}))] == 1
    private_redis.stop()
    figures = scrape(client)
    assert figures[("grants_metrics_source_up", frozenset({("source", "broker")}))] == 0
    assert not any(name == "grants_queue_depth" for name, _labels in figures)
    assert figures[("grants_emails_failed", frozenset())] == 0


MULTIPROCESS_SCRIPT = """
import os
from grants import create_app

app = create_app({"METRICS_TOKEN": "t", "TASKS_EAGER": True})
client = app.test_client()
child = os.fork()  # a second worker, as gunicorn forks them
for _ in range(2 if child == 0 else 1):
    assert client.get("/healthz").status_code == 200
if child == 0:
    os._exit(0)
assert os.waitpid(child, 0)[1] == 0
print(client.get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True))
"""


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_with_a_multiprocess_folder_any_worker_answers_the_requests_of_all(database_url, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR (several gunicorn workers): a scrape answered by one process counts
    the requests every process of the host served (two requests in a forked worker, one in its parent)."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = dict(os.environ) | {
        "PROMETHEUS_MULTIPROC_DIR": str(folder), "GRANTS_DATABASE_URL": database_url,
        "GRANTS_INSTANCE_DIR": str(tmp_path / "instance"), "GRANTS_SECRET_KEY": "multiprocess-test",
    }  # fmt: skip

    done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout
    counts = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "grants_http_request_duration_seconds_count" and sample.labels["endpoint"] == "public.health"
    ]
    assert counts == [3]
    assert "grants_emails_failed 0.0" in text
