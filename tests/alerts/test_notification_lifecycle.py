"""The notification's one lifecycle (claimed → sending → sent | bounced | failed | skipped, retries,
an administrator's resend), and Celery tasks as units of work: one commit when the task returns,
nothing kept and nothing sent when it raises."""

from datetime import timedelta

import pytest
from conftest import login, post_form, read_outbox

from alerts.test_alerts import alert_call, days_before, deadline_mail  # noqa: F401  (fixture)
from grants.alerts import lifecycle, services
from grants.alerts.lifecycle import Status
from grants.alerts.models import Notification
from grants.core.errors import Conflict
from grants.extensions import db


def _note(status: Status = Status.CLAIMED) -> Notification:
    return Notification(key=f"test:{status}", kind="announcement", object_type="call", object_id=1,
                        recipient="a@example.kz", status=str(status), attempts=0)  # fmt: skip


def test_the_notification_machine_allows_only_its_edges(app, frozen):
    note = _note()
    lifecycle.transition(note, "attempt")
    assert (note.status, note.attempts, note.attempted_at) == (Status.SENDING, 1, frozen.moment)
    lifecycle.transition(note, "retry", error="421 busy", countdown=60)
    assert note.status == Status.CLAIMED and note.next_attempt_at == frozen.moment + timedelta(seconds=60)
    with pytest.raises(Conflict):
        lifecycle.transition(note, "delivered")  # never "sent" without an attempt
    with pytest.raises(Conflict):
        lifecycle.transition(note, "resend")  # already on its way
    lifecycle.transition(note, "attempt")
    lifecycle.transition(note, "delivered")
    assert note.status == Status.SENT and note.sent_at == frozen.moment and note.error is None
    assert lifecycle.is_final(note)
    lifecycle.transition(note, "resend")
    assert (note.status, note.attempts) == (Status.CLAIMED, 0)
    with pytest.raises(ValueError):
        lifecycle.transition(note, "explode")  # an unknown event is a programming error


def test_a_notification_on_its_way_cannot_be_resent_by_an_admin(app, frozen, alert_call, users, client):  # noqa: F811
    frozen.to(days_before(alert_call, 30))
    claimed = services.scan(frozen.moment).claimed  # claimed, not sent yet
    users("admin@example.kz", role="admin")
    login(client, "admin@example.kz")
    page = client.get("/admin/notifications?status=claimed").get_data(as_text=True)
    assert "ожидает отправки" in page and f"/admin/notifications/{claimed[0]}/resend" not in page
    response = post_form(client, f"/admin/notifications/{claimed[0]}/resend", {}, form_url="/admin/notifications")
    assert response.status_code == 302
    db.session.expire_all()
    note = db.session.get(Notification, claimed[0])
    assert note.status == Status.CLAIMED and note.attempts == 0
    assert deadline_mail(app) == []  # nothing sent twice, nothing sent early


def test_a_bounce_is_final_and_a_resend_sends_it_once_after_the_commit(app, frozen, alert_call, monkeypatch):  # noqa: F811
    import smtplib

    from grants import mail

    frozen.to(days_before(alert_call, 30))
    [note_id, *_others] = services.scan(frozen.moment).claimed

    def refuse(message):
        raise smtplib.SMTPRecipientsRefused({message["to"]: (550, b"no such user")})

    monkeypatch.setattr(mail, "deliver", refuse)
    assert services.send(note_id) == Status.BOUNCED
    assert services.send(note_id) == Status.BOUNCED  # a duplicate task does nothing
    monkeypatch.undo()
    from grants.accounts.models import User

    admin = db.session.execute(db.select(User).filter_by(email="manager@example.kz")).scalar_one()
    before = len(deadline_mail(app))
    services.resend(admin, db.session.get(Notification, note_id))  # commits, then sends (eager worker)
    db.session.expire_all()
    assert db.session.get(Notification, note_id).status == Status.SENT
    assert len(deadline_mail(app)) == before + 1


def _task(app, name, body):
    """A Celery task of the app's own task class (each test gets a fresh name)."""
    import uuid

    return app.extensions["celery"].task(name=f"{name}-{uuid.uuid4().hex[:8]}", shared=False)(body)


def test_a_task_that_fails_keeps_nothing_and_sends_nothing(app):
    from grants.accounts import services as accounts
    from grants.accounts.models import User

    def register_then_fail():
        accounts.register(email="late@example.kz", name="Late", password="correct-horse-42", locale="kk")
        raise RuntimeError("the worker failed after the service")

    task = _task(app, "test.register_then_fail", register_then_fail)
    with pytest.raises(RuntimeError):
        task.delay()
    db.session.expire_all()
    assert db.session.execute(db.select(User).filter_by(email="late@example.kz")).scalar_one_or_none() is None
    assert read_outbox(app) == []  # the verification email was queued for a commit that never came


def test_a_task_commits_once_and_its_emails_leave_after_the_commit(app):
    from grants.accounts import services as accounts
    from grants.accounts.models import User
    from grants.core.db import in_unit

    seen = {}

    def register_two():
        seen["unit"] = in_unit()
        accounts.register(email="one@example.kz", name="One", password="correct-horse-42", locale="kk")
        accounts.register(email="two@example.kz", name="Two", password="correct-horse-42", locale="ru")
        seen["outbox_before_commit"] = len(read_outbox(app))

    _task(app, "test.register_two", register_two).delay()
    assert seen == {"unit": True, "outbox_before_commit": 0}
    db.session.expire_all()
    emails = {m["To"] for m in read_outbox(app)}
    assert emails == {"one@example.kz", "two@example.kz"}
    assert db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one() == 2
