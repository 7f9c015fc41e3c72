"""Alerts through real Celery worker processes, a real Redis broker and a real SMTP server."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import _truncate_pg, call_data

from grants.alerts.models import Notification
from grants.calls import services as calls
from grants.core import clock
from grants.extensions import db
from grants.subscriptions.models import Subscription

ROOT = Path(__file__).resolve().parent.parent.parent
OFFSETS = (30, 14, 7, 3, 1)
RECIPIENTS = {"kk@example.kz": "kk", "ru@example.kz": "ru", "en@example.kz": "en"}


@pytest.fixture
def stack(make_app, pg_database, redis_url, smtp_server, tmp_path, users):
    """Two worker processes on one Redis queue, sharing the PostgreSQL database and SMTP."""
    url, prefix = redis_url
    host, port, inbox = smtp_server
    _truncate_pg(pg_database)
    queue = f"{prefix}-alerts-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ) | {
        "GRANTS_BROKER_URL": url, "GRANTS_TASK_QUEUE": queue, "GRANTS_DATABASE_URL": pg_database,
        "GRANTS_INSTANCE_DIR": str(tmp_path / "instance"), "GRANTS_SECRET_KEY": "worker-test",
        "GRANTS_MAIL_SERVER": host, "GRANTS_MAIL_PORT": str(port), "GRANTS_BASE_URL": "http://localhost",
    }  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "grants.worker",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                queue,
                "-n",
                f"w{i}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for i in range(2)
    ]
    app = make_app(pg_database, BROKER_URL=url, TASKS_EAGER=False, TASK_QUEUE=queue, MAIL_SERVER=host, MAIL_PORT=port)
    try:
        with app.app_context():
            manager = users("manager@example.kz", role="manager")
            for email, language in RECIPIENTS.items():
                db.session.add(Subscription(email=email, language=language, confirmed_at=clock.now()))
            db.session.commit()
            call = calls.create(manager, call_data(opens_at=(clock.now() - timedelta(days=1)).isoformat(),
                                                   closes_at=(clock.now() + timedelta(days=31)).isoformat()))  # fmt: skip
            calls.publish(manager, call)
            yield app, call, inbox
    finally:
        for worker in workers:
            worker.terminate()
        outputs = [w.communicate(timeout=30)[0].decode(errors="replace") for w in workers]
        assert not any("Traceback" in out for out in outputs), outputs


def scan_twice(call, moment):
    """Two scans of the same instant, taken by two different worker processes."""
    from grants.core.tasks import enqueue

    enqueue("grants.alerts_scan", moment.isoformat())
    enqueue("grants.alerts_scan", moment.isoformat())


def settled(inbox, expected: int):
    """Wait for the expected emails, then until no claim is pending in the database (a
    duplicate could only come from a pending claim), checking again at each new email."""
    import time

    messages = inbox.wait_for(expected, timeout=60)
    deadline = time.monotonic() + 30
    while _pending() and time.monotonic() < deadline:
        with inbox.arrived:
            inbox.arrived.wait(timeout=0.1)
    assert _pending() == 0
    return messages


def _pending() -> int:
    db.session.rollback()  # see the workers' commits
    return db.session.execute(
        db.select(db.func.count()).where(
            Notification.status.in_(("claimed", "sending")), Notification.kind == "deadline"
        )
    ).scalar()


def deadline_mails(inbox):
    return [m for m in inbox.messages if m.get_content_type() == "multipart/mixed"]


def test_one_alert_per_offset_per_recipient_with_two_workers(stack):
    app, call, inbox = stack
    announcements = 3
    settled(inbox, announcements)
    for n, days in enumerate(OFFSETS, start=1):
        scan_twice(call, call.closes_at - timedelta(days=days))
        settled(inbox, announcements + 3 * n)
    mails = deadline_mails(inbox)
    assert len(mails) == 15
    assert sorted((m["To"], m["Subject"]) for m in mails) == sorted(set((m["To"], m["Subject"]) for m in mails))
    by_recipient = {email: [m for m in mails if m["To"] == email] for email in RECIPIENTS}
    assert all(len(items) == 5 for items in by_recipient.values())
    assert "Астана уақытымен" in by_recipient["kk@example.kz"][0].get_body(("plain",)).get_content()
    assert "по времени Астаны (UTC+5)" in by_recipient["ru@example.kz"][0].get_body(("plain",)).get_content()


def test_after_a_ten_day_outage_one_catch_up_alert_per_recipient(stack):
    app, call, inbox = stack
    settled(inbox, 3)
    scan_twice(call, call.closes_at - timedelta(days=30))
    settled(inbox, 6)
    scan_twice(call, call.closes_at - timedelta(days=14))
    settled(inbox, 9)
    outage_end = call.closes_at - timedelta(days=4)  # 10 days without any scan: the 7-day alert was missed
    scan_twice(call, outage_end)
    settled(inbox, 12)
    late = deadline_mails(inbox)[-3:]
    assert sorted(m["To"] for m in late) == sorted(RECIPIENTS)
    rows = db.session.execute(db.select(Notification.offset_days, Notification.status)
                              .filter_by(kind="deadline", recipient="kk@example.kz")).all()  # fmt: skip
    assert sorted(rows) == [(7, "sent"), (14, "sent"), (30, "sent")]
