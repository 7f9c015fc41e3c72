"""The real services: rate limits stored in Redis, email through an SMTP server, and a real
Celery worker process taking tasks from a Redis broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import PASSWORD, link_in, login, post_form

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_app(make_app, database_url, redis_url):
    url, prefix = redis_url
    app = make_app(database_url, RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=f"{prefix}-{uuid.uuid4().hex[:6]}")
    with app.app_context():
        yield app


def test_login_failures_are_counted_in_redis(redis_app, redis_url, users):
    import redis

    users("a@example.kz")
    client = redis_app.test_client()
    for _ in range(5):
        post_form(client, "/login", {"email": "a@example.kz", "password": "wrong-wrong-1"})
    assert post_form(client, "/login", {"email": "a@example.kz", "password": PASSWORD}).status_code == 429
    # Keys carry this run's prefix, so parallel runs on one Redis never collide.
    keys = list(redis.Redis.from_url(redis_url[0]).scan_iter(f"*{redis_url[1]}*"))
    assert any(b"login:a@example.kz" in key for key in keys)
    # A second app instance (another web process) shares the count through Redis.
    other = redis_app.test_client()
    assert post_form(other, "/login", {"email": "a@example.kz", "password": PASSWORD}).status_code == 429


def test_emails_go_through_the_smtp_server_with_text_and_html(make_app, database_url, smtp_server):
    host, port, inbox = smtp_server
    app = make_app(database_url, MAIL_SERVER=host, MAIL_PORT=port)
    with app.app_context():
        client = app.test_client()
        response = post_form(client, "/register", {"name": "Дәурен", "email": "d@example.kz", "password": "жасыл-дала-2026",
                                                   "confirm": "жасыл-дала-2026", "locale": "ru"})  # fmt: skip
        assert response.status_code == 201
        [msg] = inbox.wait_for(1)
        assert msg["To"] == "d@example.kz"
        assert "Подтвердите" in msg["Subject"]
        assert msg.get_body(preferencelist=("html",)) is not None
        path = link_in(msg, "/verify-email/").replace("http://localhost", "")
        assert client.get(path).status_code == 302
        login(client, "d@example.kz", "жасыл-дала-2026")


def test_a_real_celery_worker_takes_tasks_from_redis(make_app, tmp_path, redis_url, smtp_server):
    import redis

    url, prefix = redis_url
    host, port, inbox = smtp_server
    queue = f"{prefix}-queue-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ) | {
        "GRANTS_BROKER_URL": url,
        "GRANTS_REDIS_URL": url,
        "GRANTS_TASK_QUEUE": queue,
        "GRANTS_RATELIMIT_PREFIX": prefix,
        "GRANTS_DATABASE_URL": f"sqlite:///{tmp_path}/worker.sqlite3",
        "GRANTS_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRANTS_SECRET_KEY": "worker-test",
        "GRANTS_MAIL_SERVER": host,
        "GRANTS_MAIL_PORT": str(port),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "grants.worker", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        app = make_app(f"sqlite:///{tmp_path}/app.sqlite3", BROKER_URL=url, TASKS_EAGER=False, TASK_QUEUE=queue)
        with app.app_context():
            from grants.core.tasks import enqueue

            value = uuid.uuid4().hex
            enqueue("grants.ping", value)
            popped = redis.Redis.from_url(url).blpop([f"{prefix}:ping"], timeout=60)
            assert popped is not None, "the worker did not answer within 60 s"
            assert popped[1].decode() == value
            message = {"to": "w@example.kz", "subject": "Тест", "text": "Сәлем", "html": None, "headers": {}}
            enqueue("grants.send_email", message)
            [msg] = inbox.wait_for(1, timeout=60)
            assert msg["Subject"] == "Тест"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output
