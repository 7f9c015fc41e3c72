"""Letters issued while the SMTP relay refuses connections: every letter is issued and stored
(nothing orphaned), its email waits as a claimed notification, and the sweep sends each one once
the relay accepts. A send cut short by a dead worker is neither repeated early nor lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import _Collector

from grants.alerts import services as alerts
from grants.alerts.models import Notification
from grants.awards.models import Letter
from grants.core import clock, storage
from grants.core.tasks import enqueue
from grants.extensions import db

from .conftest import free_port


def letter_notes() -> list[Notification]:
    db.session.rollback()  # see what the tasks committed
    return list(db.session.execute(db.select(Notification).filter_by(kind="award_letter")).scalars())


def test_letters_issued_while_smtp_refuses_are_all_stored_and_emailed_once_it_accepts(app, awarded, frozen):
    staged, awards = awarded
    port = free_port()  # nothing listens there yet: every connection is refused
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    assert enqueue("grants.issue_letters", staged.call.id, staged.manager.id).result == 3  # inline (TASKS_EAGER)

    letters = db.session.execute(db.select(Letter)).scalars().all()
    assert sorted(letter.award_id for letter in letters) == sorted(a.id for a in awards)
    assert set(storage.storage().keys("letters/")) == {letter.path for letter in letters}  # no orphan PDF
    notes = letter_notes()
    assert [(n.status, n.attempts) for n in notes] == [("claimed", 1)] * 3
    assert all("Connection" in n.error for n in notes)
    assert alerts.sweep(frozen.moment) == []  # waiting for their retry, not lost

    collector = _Collector()
    relay = Controller(collector, hostname="127.0.0.1", port=port)
    relay.start()
    try:
        frozen.to(frozen.moment + alerts.stuck_after() + timedelta(seconds=alerts.backoff(1) + 1))
        assert len(alerts.sweep(frozen.moment)) == 3
        collector.wait_for(3)
        assert alerts.sweep(frozen.moment) == []
        assert sorted(m["To"] for m in collector.messages) == sorted(lead.email for lead in staged.leads)
        assert [(n.status, n.attempts) for n in letter_notes()] == [("sent", 2)] * 3
    finally:
        relay.stop()


def test_a_send_cut_short_by_a_dead_worker_is_retried_once_after_the_stuck_time(app, frozen):
    from grants import mail

    message = {"to": "a@example.kz", "subject": "Хабар", "text": "Сәлем", "html": None, "headers": {}}
    note = mail.queue(message, kind="test_message", about=("message", 0), language="kk")
    note.status, note.attempts, note.attempted_at = "sending", 1, clock.now()  # its worker died talking to SMTP
    db.session.commit()

    def outbox() -> list[Path]:
        return sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))

    sent_before = len(outbox())

    assert alerts.send(note.id) == "sending"  # a second copy of the task: the first may still be sending
    frozen.to(frozen.moment + alerts.stuck_after() - timedelta(seconds=1))
    assert alerts.sweep(frozen.moment) == []
    frozen.to(frozen.moment + timedelta(seconds=2))
    assert alerts.sweep(frozen.moment) == [note.id]
    assert len(outbox()) == sent_before + 1
    assert alerts.send(note.id) == "sent" and len(outbox()) == sent_before + 1
    db.session.refresh(note)
    assert (note.status, note.attempts) == ("sent", 2)


def test_a_long_retry_wait_is_left_to_the_sweep_not_held_by_a_worker(app):
    """A worker holding a message past the visibility timeout would see it delivered again: a
    wait longer than half the timeout is left to the sweep (the row says when it is due)."""
    from grants import mail
    from grants.tasks import send_notification

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), ALERT_RETRY_BASE_SECONDS=30)
    message = {"to": "a@example.kz", "subject": "Хабар", "text": "Сәлем", "html": None, "headers": {}}
    note = mail.queue(message, kind="test_message", about=("message", 0), language="kk")
    db.session.commit()  # sent after the commit (inline): refused, waits for its retry
    assert (note.status, note.attempts) == ("claimed", 1)

    app.config["BROKER_VISIBILITY_TIMEOUT"] = 300
    with pytest.raises(alerts.RetryLater):  # about a minute (backoff 60 s ± 20 %): the broker holds the retry
        send_notification.run(note.id)
    app.config["BROKER_VISIBILITY_TIMEOUT"] = 60
    assert send_notification.run(note.id) == "claimed"  # about two minutes, over half the timeout: the sweep's
    db.session.refresh(note)
    assert (note.status, note.attempts) == ("claimed", 3) and note.next_attempt_at > clock.now()
