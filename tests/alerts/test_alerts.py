"""The due-alert scan with a controlled clock (tasks run inline; the real worker is tested
in test_worker_alerts.py)."""

from datetime import timedelta

import pytest
from conftest import call_data, read_outbox

from grants.alerts import services
from grants.alerts.models import Notification
from grants.alerts.registry import DueObject, most_urgent
from grants.calls import services as calls
from grants.extensions import db
from grants.subscriptions.models import Subscription

OFFSETS = (30, 14, 7, 3, 1)


def days_before(call, days: float):
    return call.closes_at - timedelta(days=days)


@pytest.fixture
def alert_call(app, frozen, manager):
    """A call closing in 40 days, and three confirmed subscribers in three languages."""
    for email, language in (("kk@example.kz", "kk"), ("ru@example.kz", "ru"), ("en@example.kz", "en")):
        db.session.add(Subscription(email=email, language=language, confirmed_at=frozen.moment))
    db.session.commit()
    call = calls.create(manager, call_data(closes_at=(frozen.moment + timedelta(days=40)).isoformat()))
    calls.publish(manager, call)
    return call


def deadline_mail(app):
    return [m for m in read_outbox(app) if m.get_content_type() == "multipart/mixed"]


@pytest.mark.parametrize(
    ("days_left", "urgent", "older"),
    [
        (31, None, []),
        (30, 30, []),
        (29.5, 30, []),
        (13, 14, [30]),
        (4, 7, [14, 30]),
        (0.5, 1, [3, 7, 14, 30]),
        (0, None, []),
    ],
)
def test_most_urgent_offset(days_left, urgent, older):
    from conftest import NOW

    obj = DueObject("call", 1, NOW, OFFSETS)
    assert most_urgent(obj, NOW - timedelta(days=days_left)) == (urgent, older)


def test_one_alert_per_offset_per_recipient_in_their_language(app, frozen, alert_call):
    for days in OFFSETS:
        frozen.to(days_before(alert_call, days))
        services.run_scan(frozen.moment)
        services.run_scan(frozen.moment)  # a second scan at the same instant claims nothing
    mails = deadline_mail(app)
    assert len(mails) == 3 * len(OFFSETS)
    by_language = {m["To"]: m for m in mails}
    kk = by_language["kk@example.kz"]
    assert "Астана уақытымен" in kk.get_body(preferencelist=("plain",)).get_content()
    assert "по времени Астаны (UTC+5)" in by_language["ru@example.kz"].get_body(preferencelist=("plain",)).get_content()
    assert "Astana time (UTC+5)" in by_language["en@example.kz"].get_body(preferencelist=("plain",)).get_content()
    ics = [part for part in kk.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert ics and "BEGIN:VEVENT" in str(ics[0].get_content())
    assert kk["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    statuses = db.session.execute(db.select(Notification.status).filter_by(kind="deadline")).scalars().all()
    assert statuses == ["sent"] * 15


def test_after_an_outage_only_the_most_urgent_missed_alert_is_sent(app, frozen, alert_call):
    frozen.to(days_before(alert_call, 30))
    services.run_scan(frozen.moment)
    frozen.to(days_before(alert_call, 4))  # ten days of downtime: 14 and 7 were missed
    result = services.run_scan(frozen.moment)
    assert result.skipped == 3
    assert len(deadline_mail(app)) == 6
    rows = db.session.execute(
        db.select(Notification.offset_days, Notification.status).filter_by(recipient="kk@example.kz", kind="deadline")
        .order_by(Notification.offset_days)
    ).all()  # fmt: skip
    assert rows == [(7, "sent"), (14, "skipped"), (30, "sent")]


def test_unsubscribed_between_scan_and_send_gets_nothing(app, frozen, alert_call):
    frozen.to(days_before(alert_call, 30))
    result = services.scan(frozen.moment)  # claimed, not yet sent
    sub = db.session.execute(db.select(Subscription).filter_by(email="ru@example.kz")).scalar_one()
    sub.unsubscribed_at = frozen.moment
    db.session.commit()
    statuses = sorted(services.send(note_id) for note_id in result.claimed)
    assert statuses == ["sent", "sent", "skipped"]
    assert "ru@example.kz" not in {m["To"] for m in deadline_mail(app)}


def test_drafts_and_unconfirmed_partners_are_reminded(app, frozen, manager, users, organization):
    from grants.applications import services as applications
    from grants.consortia import services as consortia
    from grants.organizations.bin import complete_bin

    call = calls.create(manager, call_data(closes_at=(frozen.moment + timedelta(days=20)).isoformat()))
    calls.publish(manager, call)
    lead, partner = users("lead@example.kz", locale="kk"), users("partner@example.kz", locale="ru")
    lead_org = organization(lead)
    partner_org = organization(partner, bin=complete_bin("21054000888"), name="P")
    consortium = consortia.create(
        lead, name="C", lead_organization_id=lead_org.id, partner_organization_ids=[partner_org.id]
    )
    applications.create(lead, call, consortium)
    frozen.to(days_before(call, 14))
    lines = services.run_scan(frozen.moment, dry_run=True).lines
    assert any("draft_deadline" in line and "lead@example.kz" in line for line in lines)
    assert not db.session.execute(db.select(Notification).filter_by(kind="draft_deadline")).first()
    services.run_scan(frozen.moment)
    kinds = dict(db.session.execute(db.select(Notification.recipient, Notification.kind)
                                    .where(Notification.kind != "announcement")).all())  # fmt: skip
    assert kinds == {"lead@example.kz": "draft_deadline", "partner@example.kz": "partner_confirm"}
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    frozen.to(days_before(call, 7))
    services.run_scan(frozen.moment)
    sent = db.select(db.func.count()).where(Notification.kind == "partner_confirm", Notification.status == "sent")
    assert db.session.execute(sent).scalar() == 1  # only the 14-day reminder; none after confirming


def test_a_moved_deadline_gets_alerts_for_the_new_date_only(app, frozen, alert_call):
    frozen.to(days_before(alert_call, 7))
    result = services.scan(frozen.moment)  # claimed for the old date, not sent yet
    alert_call.closes_at = alert_call.closes_at + timedelta(days=10)  # e.g. a programme decision to extend
    db.session.commit()
    assert {services.send(i) for i in result.claimed} == {"skipped"}
    services.run_scan(frozen.moment)  # now 17 days before the new date: the 30-day alert
    rows = db.session.execute(db.select(Notification.due_at, Notification.offset_days, Notification.status)
                              .filter_by(kind="deadline", recipient="kk@example.kz")).all()  # fmt: skip
    new = sorted((offset, status) for due, offset, status in rows if due == alert_call.closes_at)
    old = {status for due, _offset, status in rows if due != alert_call.closes_at}
    assert new == [(30, "sent")] and old == {"skipped"}


def test_cli_scan_prints_what_it_queued(app, frozen, alert_call):
    at = days_before(alert_call, 14).isoformat()
    dry = app.test_cli_runner().invoke(args=["alerts", "scan", "--at", at, "--dry-run"])
    assert dry.exit_code == 0 and dry.output.count("due deadline") == 3
    assert not db.session.execute(db.select(Notification).filter_by(kind="deadline")).first()
    real = app.test_cli_runner().invoke(args=["alerts", "scan", "--at", at])
    assert real.exit_code == 0 and "3 queued" in real.output and "skipped" in real.output
    bad = app.test_cli_runner().invoke(args=["alerts", "scan", "--at", "yesterday"])
    assert bad.exit_code != 0


def test_stale_claims_are_swept_and_sent_once(app, frozen, alert_call):
    frozen.to(days_before(alert_call, 30))
    claimed = services.scan(frozen.moment).claimed  # the worker "died" before sending
    frozen.to(frozen.moment + timedelta(minutes=11))
    assert sorted(services.sweep(frozen.moment)) == sorted(claimed)
    assert len(deadline_mail(app)) == 3
    assert services.sweep(frozen.moment) == []


def test_admin_sees_failures_and_resends_one(app, frozen, alert_call, users, client):
    from conftest import login, post_form

    frozen.to(days_before(alert_call, 30))
    claimed = services.scan(frozen.moment).claimed
    note = db.session.get(Notification, claimed[0])
    note.status, note.error = "failed", "SMTPServerDisconnected: gone"
    db.session.commit()
    users("admin@example.kz", role="admin")
    login(client, "admin@example.kz")
    page = client.get("/admin/notifications?status=failed").get_data(as_text=True)
    assert "SMTPServerDisconnected: gone" in page
    assert (
        post_form(client, f"/admin/notifications/{note.id}/resend", {}, form_url="/admin/notifications").status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Notification, note.id).status == "sent"
