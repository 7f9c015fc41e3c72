"""Issue 13 ("Communication"), item 1: one outbound log for every message. A message rendered
when its event happens (email confirmation, password reset, invitations, receipt…) is a
notification row written in the event's own transaction and sent through the alerts' claim, so
it can be seen and resent by an admin. Counted against what a real SMTP server received."""

import re

import pytest
from applications.conftest import complete
from conftest import _truncate_pg, call_data, login, post_form

from grants.alerts import services as alerts
from grants.alerts.lifecycle import Status
from grants.alerts.models import Notification
from grants.extensions import db


@pytest.fixture
def site(make_app, pg_database, smtp_server, users, organization):
    host, port, inbox = smtp_server
    _truncate_pg(pg_database)
    app = make_app(pg_database, MAIL_SERVER=host, MAIL_PORT=port)
    with app.app_context():
        yield app, inbox


def logged() -> list[Notification]:
    db.session.rollback()
    return list(db.session.execute(db.select(Notification).order_by(Notification.id)).scalars())


def test_every_email_the_smtp_server_received_has_its_log_row_and_can_be_resent(site, users, organization, frozen):
    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations.bin import complete_bin

    app, inbox = site
    client = app.test_client()
    # a newcomer registers (email confirmation) and asks for a new password (reset link)
    post_form(client, "/register", {"name": "Әсел", "email": "asel@example.kz", "password": "көкшетау-көлдері-2026",
                                    "confirm": "көкшетау-көлдері-2026", "locale": "kk"})  # fmt: skip
    post_form(client, "/password/forgot", {"email": "asel@example.kz"})
    # an organization invites an editor; a consortium invites a partner; the lead submits
    manager = users("manager@example.kz", role="manager")
    lead, partner = users("lead@example.kz", locale="kk"), users("partner@example.kz", locale="ru")
    lead_org = organization(lead, name="Арал ҮЕҰ", bin=complete_bin("20054000777"))
    partner_org = organization(partner, name="Жас Дала", bin=complete_bin("21054000888"))
    from grants.organizations import services as organizations

    organizations.invite(lead, lead_org, email="editor@example.kz", role="editor")
    call = calls.create(manager, call_data())
    calls.publish(manager, call)
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    draft = applications.create(lead, call, consortium)

    class World:
        pass

    world = World()
    world.lead_org, world.partner_org = lead_org, partner_org
    applications.save(lead, draft, complete(world), version=draft.version)
    applications.submit(lead, draft)
    db.session.commit()

    rows = [n for n in logged() if n.payload is not None]
    kinds = {n.kind for n in rows}
    assert {"verify_email", "reset_password", "invitation", "consortium_invitation", "application_receipt"} <= kinds
    received = inbox.wait_for(len(rows))
    assert len(received) == len(rows)
    ids = sorted(int(re.search(r"<notification-(\d+)@", m["Message-ID"]).group(1)) for m in received)
    assert ids == sorted(n.id for n in rows)  # every email received has its row, and every row was received
    assert all(n.status == Status.SENT and n.subject and n.sent_at for n in rows)
    receipt = next(n for n in rows if n.kind == "application_receipt" and n.recipient == "lead@example.kz")
    assert (receipt.object_type, receipt.object_id) == ("application", draft.id)
    assert receipt.subject == next(m["Subject"] for m in received if m["To"] == "lead@example.kz"
                                   and f"notification-{receipt.id}@" in m["Message-ID"])  # fmt: skip

    # the lead reads on the application's page what was sent about it
    login(client, "lead@example.kz")
    page = client.get(f"/applications/{draft.id}").get_data(as_text=True)
    assert "Осы туралы жіберілген хабарлар" in page and receipt.subject in page

    # an admin finds the receipts in the log by their kind, and resends one: the same message
    # again, logged on the same row
    admin = users("admin@example.kz", role="admin")
    db.session.commit()
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    login(client, "admin@example.kz")
    log = client.get("/admin/notifications?kind=application_receipt").get_data(as_text=True)
    assert "<option selected>application_receipt</option>" in log and receipt.subject in log
    assert "verify_email" in log  # offered in the filter, its rows not listed
    alerts.resend(admin, db.session.get(Notification, receipt.id))
    db.session.commit()
    again = inbox.wait_for(len(rows) + 1)[-1]
    assert again["Subject"] == receipt.subject and f"<notification-{receipt.id}@" in again["Message-ID"]
    assert db.session.get(Notification, receipt.id).status == Status.SENT


def test_a_message_whose_event_is_rolled_back_is_neither_logged_nor_sent(site, users):
    app, inbox = site
    from grants import mail

    before = len(logged())
    mail.send("nobody@example.kz", "verify_email", "ru", user=users("x@example.kz"), link="http://x", hours=48)
    db.session.rollback()  # the event failed: its message goes with it
    assert len(logged()) == before and inbox.messages == []
