"""JSON logs with a request id: the id the response's `X-Request-Id` gives is on the request's access
line and on the lines of the Celery task it queued, inline and through a real worker process that
received it in the message's headers. Nothing personal or secret is logged."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import PASSWORD, login

from grants.core import logs

ROOT = Path(__file__).resolve().parent.parent.parent


def with_ping_route(app):
    """A page of the test's own that queues the worker's ping task, as a view queues its tasks."""

    def queue_ping():
        from flask import request

        from grants.core.tasks import enqueue

        enqueue("grants.ping", request.args.get("value", "x"))
        return {"queued": True}

    app.add_url_rule("/_ops_test/ping", "ops_test_ping", queue_ping)
    return app


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "grants.access"]


def test_the_access_line_is_json_with_the_request_id_the_response_gives(client, json_logs):
    response = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.42"})
    assert response.headers["X-Request-Id"] == "lb-7f3a.42"
    [line] = access_lines(json_logs.all())
    assert line["request_id"] == "lb-7f3a.42"
    assert (line["level"], line["method"], line["path"], line["route"], line["status"]) == (
        "INFO", "GET", "/healthz", "/healthz", 200,
    )  # fmt: skip
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("Z") and "T" in line["time"]
    assert "user_id" not in line  # nobody signed in


def test_a_request_id_is_made_when_none_comes_and_a_sent_one_is_cleaned(client, json_logs):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32 and int(made, 16) >= 0
    dirty = client.get("/healthz", headers={"X-Request-Id": 'a b"<script>\\' + "x" * 200}).headers["X-Request-Id"]
    assert dirty == ("abscript" + "x" * 200)[:64]
    blank = client.get("/healthz", headers={"X-Request-Id": "<>"}).headers["X-Request-Id"]
    assert len(blank) == 32  # nothing usable left: a new one
    assert [line["request_id"] for line in access_lines(json_logs.all())] == [made, dirty, blank]


def test_an_untrusted_request_id_is_replaced(make_app, database_url, json_logs):
    client = make_app(database_url, TRUST_REQUEST_ID=False).test_client()
    assert client.get("/healthz", headers={"X-Request-Id": "from-a-client"}).headers["X-Request-Id"] != "from-a-client"


def test_lines_carry_the_user_id_and_never_an_email_password_or_token(app, client, users, json_logs):
    user = users("secret.person@example.kz")
    login(client, "secret.person@example.kz")
    client.get("/password/reset/abcdefghijklmnopqrstuvwxyz0123456789?next=/x")
    logging.getLogger("grants.test").warning("mail to %s failed; Bearer abc.def password=hunter2", "a@b.kz")
    client.get("/calls")
    lines = json_logs.all()
    raw = json_logs.raw()
    for secret in ("secret.person@example.kz", "a@b.kz", PASSWORD, "abcdefghijklmnopqrstuvwxyz", "abc.def", "hunter2",
                   "next="):  # fmt: skip
        assert secret not in raw, secret
    reset = next(line for line in lines if line.get("route") == "/password/reset/<token>")
    assert reset["path"] == "/password/reset/<token>"
    assert access_lines(lines)[-1]["user_id"] == user.id and access_lines(lines)[-1]["path"] == "/calls"
    warning = next(line for line in lines if line["logger"] == "grants.test")
    assert warning["message"] == "mail to <email> failed; Bearer *** password=***"


def test_a_task_queued_by_a_request_logs_the_requests_id_inline(make_app, database_url, json_logs):
    app = with_ping_route(make_app(database_url))  # TASKS_EAGER: the task runs inside the request
    response = app.test_client().get("/_ops_test/ping", headers={"X-Request-Id": "inline-1"})
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "inline-1"
    lines = json_logs.all()
    [task] = [line for line in lines if line["logger"] == "grants.tasks"]
    assert (task["task"], task["state"], task["request_id"]) == ("grants.ping", "SUCCESS", "inline-1")
    assert access_lines(lines)[-1]["request_id"] == "inline-1"
    assert logs.request_id() is None  # nothing left behind outside the request
    with app.app_context():  # queued by no request (beat, a command): the task's own id stands in
        from grants.core.tasks import enqueue

        enqueue("grants.ping", "no-request")
    last = json_logs.all()[-1]
    assert last["logger"] == "grants.tasks" and last["request_id"] == last["task_id"] and len(last["task_id"]) == 36
    assert logs.request_id() is None


def test_json_logging_is_switched_on_by_the_log_format(make_app, database_url):
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        make_app(database_url, LOG_FORMAT="json")
        [handler] = [h for h in root.handlers if isinstance(h.formatter, logs.JsonFormatter)]
        assert root.level == logging.INFO
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_real_worker_logs_the_id_it_received_in_the_task_headers(make_app, database_url, redis_url, tmp_path):
    """The id leaves in the message's headers (before_task_publish), a Celery worker process with
    GRANTS_LOG_FORMAT=json takes it (task_prerun) and prints it on its task line."""
    import redis

    url, prefix = redis_url
    queue = f"{prefix}-ops-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ) | {
        "GRANTS_BROKER_URL": url, "GRANTS_REDIS_URL": url, "GRANTS_TASK_QUEUE": queue,
        "GRANTS_RATELIMIT_PREFIX": prefix, "GRANTS_DATABASE_URL": database_url,
        "GRANTS_INSTANCE_DIR": str(tmp_path / "instance"), "GRANTS_SECRET_KEY": "worker-test",
        "GRANTS_LOG_FORMAT": "json",
    }  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "grants.worker", "worker", "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    value = uuid.uuid4().hex
    try:
        app = with_ping_route(make_app(database_url, BROKER_URL=url, TASKS_EAGER=False, TASK_QUEUE=queue))
        response = app.test_client().get(f"/_ops_test/ping?value={value}", headers={"X-Request-Id": "worker-req-9"})
        assert response.status_code == 200
        popped = redis.Redis.from_url(url).blpop([f"{prefix}:ping"], timeout=60)
        assert popped is not None and popped[1].decode() == value, "the worker did not run the task within 60 s"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
        redis.Redis.from_url(url).delete(queue)
    lines = []
    for text in output.splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            continue  # the worker's banner is printed, not logged
    task_lines = [line for line in lines if line.get("logger") == "grants.tasks"]
    assert task_lines, output[-3000:]
    assert [(line["task"], line["state"], line["request_id"]) for line in task_lines] == [
        ("grants.ping", "SUCCESS", "worker-req-9")
    ]
    assert "Traceback" not in output, output[-3000:]
