"""The broker (Redis) down while an application is submitted (issue 15, item 6): the submission is
stored and answered as a success, its receipt waits in the message log, and once the sweep runs
with a broker again the SMTP server receives it exactly once."""

import logging
import re
import uuid
from datetime import UTC, datetime, timedelta

from conftest import login, post_form

from grants.alerts import services as alerts
from grants.alerts.models import Notification
from grants.applications.models import Submission
from grants.core import clock
from grants.extensions import db

from .conftest import build_ready


def _notifications(after_id: int = 0) -> list[Notification]:
    db.session.rollback()
    query = db.select(Notification).where(Notification.id > after_id).order_by(Notification.id)
    return list(db.session.execute(query).scalars())


def test_a_submission_while_the_broker_is_down_is_kept_and_its_receipt_sent_once_later(
    make_app, database_url, private_redis, smtp_server, users, organization, frozen, caplog
):
    host, port, inbox = smtp_server
    # the world is built on an app of its own (messages written to the outbox folder)
    setup = make_app(database_url)
    with setup.app_context():
        ready = build_ready(users, organization)
        before = max((n.id for n in _notifications()), default=0)

    app = make_app(database_url, TASKS_EAGER=False, BROKER_URL=private_redis.url,
                   TASK_QUEUE=f"faults-{uuid.uuid4().hex[:6]}", MAIL_SERVER=host, MAIL_PORT=port)  # fmt: skip
    with app.app_context():
        client = app.test_client()
        login(client, ready.lead_email)
        private_redis.stop()
        caplog.set_level(logging.WARNING)
        response = post_form(client, f"/applications/{ready.app_id}/check", {})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert response.headers["Location"].endswith(f"/applications/{ready.app_id}")
        assert any(r.levelno == logging.WARNING and r.name.startswith("grants") for r in caplog.records)
        [stored] = db.session.execute(db.select(Submission).filter_by(application_id=ready.app_id)).scalars().all()
        assert stored.receipt_number
        rows = _notifications(before)
        receipt = next(n for n in rows if n.kind == "application_receipt" and n.recipient == ready.lead_email)
        assert receipt.payload is not None and receipt.status == "claimed" and receipt.sent_at is None
        assert inbox.messages == []

    # the broker is back: the sweep (beat) hands the never-sent rows over; tasks run inline here
    worker_like = make_app(database_url, MAIL_SERVER=host, MAIL_PORT=port)
    with worker_like.app_context():
        later = max(clock.now(), datetime.now(UTC)) + timedelta(hours=1)
        swept = alerts.sweep(later)
        assert receipt.id in swept
        sent = [int(re.search(r"<notification-(\d+)@", m["Message-ID"]).group(1)) for m in inbox.messages]
        assert sent.count(receipt.id) == 1
        assert sorted(sent) == sorted(n.id for n in rows)  # every message of the submission, each once
        assert all(n.status == "sent" for n in _notifications(before))
        assert alerts.sweep(later) == []  # nothing left to send again
        assert len(inbox.messages) == len(rows)


def test_every_after_commit_callback_runs_though_one_fails_and_the_failure_is_logged(app, caplog):
    from grants.core.db import on_commit

    ran = []

    def broker_down():
        raise ConnectionError("broker down")

    on_commit(broker_down)
    on_commit(lambda: ran.append("second"))
    caplog.set_level(logging.WARNING)
    db.session.commit()  # does not raise: the transaction is committed whatever the callbacks do
    assert ran == ["second"]
    [record] = [r for r in caplog.records if r.name == "grants.on_commit"]
    assert record.levelno == logging.WARNING and "broker_down" in record.getMessage()
    assert record.exc_info[0] is ConnectionError


def test_a_broker_that_stops_answering_does_not_hold_the_request(
    make_app, database_url, private_redis, users, organization, frozen, caplog
):
    """Paused (SIGSTOP) after the web process connected: the hand-over gives up after its socket
    timeout, once per request (the other messages are left to the sweep at once), and the
    submission answers as a success instead of hanging."""
    import threading

    from grants.core.tasks import enqueue

    setup = make_app(database_url)
    with setup.app_context():
        ready = build_ready(users, organization)
        before = max((n.id for n in _notifications()), default=0)
    app = make_app(database_url, TASKS_EAGER=False, BROKER_URL=private_redis.url,
                   TASK_QUEUE=f"faults-{uuid.uuid4().hex[:6]}")  # fmt: skip
    with app.app_context():
        client = app.test_client()
        login(client, ready.lead_email)
        enqueue("grants.ping", "connected")  # the producer's connection is open…
        private_redis.pause()  # …and now nobody answers on it
        caplog.set_level(logging.WARNING)
        answers = []
        try:
            request = threading.Thread(target=lambda: answers.append(
                post_form(client, f"/applications/{ready.app_id}/check", {})))  # fmt: skip
            request.start()
            request.join(timeout=90)
            assert not request.is_alive(), "the request still waits for the paused broker"
        finally:
            private_redis.resume()
        assert answers[0].status_code == 302
        assert db.session.execute(db.select(Submission).filter_by(application_id=ready.app_id)).scalars().all()
        failures = [r for r in caplog.records if r.name == "grants.core.tasks"]
        assert failures and "could not queue" in failures[0].getMessage()
        assert all("not queued" in r.getMessage() for r in failures[1:])  # one wait per request, not one per message
        rows = _notifications(before)
        assert rows and all(n.status == "claimed" for n in rows)  # all of them wait for the sweep


def test_a_call_published_while_the_broker_is_down_is_announced_by_the_sweep_once(
    make_app, database_url, private_redis, smtp_server, users, frozen
):
    from conftest import call_data

    from grants.calls import services as calls
    from grants.subscriptions.models import Subscription

    host, port, inbox = smtp_server
    app = make_app(database_url, TASKS_EAGER=False, BROKER_URL=private_redis.url,
                   TASK_QUEUE=f"faults-{uuid.uuid4().hex[:6]}", MAIL_SERVER=host, MAIL_PORT=port)  # fmt: skip
    with app.app_context():
        manager = users("manager@example.kz", role="manager")
        db.session.add(Subscription(email="subscriber@example.kz", language="kk", confirmed_at=clock.now()))
        db.session.commit()
        private_redis.stop()
        call = calls.create(manager, call_data())
        calls.publish(manager, call)  # committed; the announcing task is lost
        call_id = call.id
        assert _notifications() == []

    worker_like = make_app(database_url, MAIL_SERVER=host, MAIL_PORT=port)
    with worker_like.app_context():
        alerts.sweep()
        inbox.wait_for(1)
        [announcement] = _notifications()
        assert (announcement.kind, announcement.object_id, announcement.status) == ("announcement", call_id, "sent")
        assert [m["To"] for m in inbox.messages] == ["subscriber@example.kz"]
        alerts.sweep()
        assert len(_notifications()) == 1 and len(inbox.messages) == 1  # announced once


def test_issuing_letters_while_the_broker_is_down_says_so_and_starts_nothing(
    make_app, database_url, private_redis, users, frozen
):
    from conftest import call_data

    from grants.calls import services as calls

    app = make_app(database_url, TASKS_EAGER=False, BROKER_URL=private_redis.url,
                   TASK_QUEUE=f"faults-{uuid.uuid4().hex[:6]}")  # fmt: skip
    with app.app_context():
        manager = users("manager@example.kz", role="manager")
        call = calls.create(manager, call_data())
        calls.publish(manager, call)
        client = app.test_client()
        login(client, manager.email)
        private_redis.stop()
        url = f"/manage/calls/{call.id}/awards"
        response = post_form(client, url, {"action": "letters", "confirm": "1"}, headers={"Accept-Language": "ru"})
        assert response.status_code == 302 and "waiting" not in response.headers["Location"]
        page = client.get(url, headers={"Accept-Language": "ru"}).get_data(as_text=True)
        assert "служба задач недоступна" in page
