"""Every alert kind reaches each person once on each channel they chose (email, Telegram, SMS),
through the fake Telegram Bot API and SMS gateway over real HTTP, and shows in the admin log;
temporary failures retry, then `failed`; a blocked bot bounces; the bot tells a linked member,
and only a member, an application's status.

One world per module on PostgreSQL (the access matrix's scenario, tests/test_access.py `build`,
plus the channels): the scans travel in time with their `now`, as tests/alerts/test_alerts.py."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from conftest import login

from channels.fakes import HEADERS, WEBHOOK_SECRET, channel_config, update
from grants.alerts import services as alerts
from grants.alerts.lifecycle import Status
from grants.alerts.models import Notification
from grants.channels.sms import count_parts
from grants.core import clock
from grants.extensions import db

LEAD_CHAT, PARTNER_CHAT, STRANGER_CHAT = 1001, 1002, 1004
LEAD_PHONE, REVIEWER_PHONE = "+77010000001", "+77010000003"
KINDS = {"announcement", "deadline", "draft_deadline", "partner_confirm", "review_due", "award_due", "award_overdue"}


def _choose(user, kinds, *, email=True, telegram=False, sms=False):
    from grants.channels.models import ChannelChoice

    for kind in kinds:
        db.session.add(ChannelChoice(user_id=user.id, kind=kind, email=email, telegram=telegram, sms=sms))


def _instants(ids: dict, now) -> list:
    """The moments at which each kind is due, in order: the 30-day deadline reminders of the open
    call, the reviewer's 3-day reminder, and each grant date 3 days before and once overdue."""
    from grants.alerts.kinds import _end_of
    from grants.awards.models import Award
    from grants.calls.models import Call
    from grants.reviews.models import Assignment

    open_call = db.session.get(Call, ids["open_call"])
    moments = [open_call.closes_at - timedelta(days=30) + timedelta(hours=1)]
    assignment = db.session.get(Assignment, ids["open_assignment"])
    moments.append(assignment.due_at - timedelta(days=3) + timedelta(hours=1))
    award = db.session.get(Award, ids["award"])
    dues = sorted({_end_of(item.due_on) for item in [*award.reports, *award.tranches] if _end_of(item.due_on) > now})
    moments += [dues[0] - timedelta(days=3) + timedelta(hours=1), dues[0] + timedelta(hours=1)]
    return sorted(m for m in moments if m > now)


@pytest.fixture(scope="module")
def world(pg_database, tmp_path_factory, fake_telegram, fake_sms):
    from conftest import FreshContextClient, _base_config, _truncate_pg
    from test_access import NOW, build

    from grants import create_app
    from grants.accounts.models import User
    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.channels.models import PhoneNumber, TelegramLink
    from grants.consortia import services as consortia
    from grants.reviews.models import Assignment
    from grants.subscriptions.models import Subscription

    _truncate_pg(pg_database)
    fake_telegram.clear()
    fake_sms.clear()
    config = _base_config(pg_database, tmp_path_factory.mktemp("channels")) | channel_config(fake_telegram, fake_sms)
    app = create_app(config)
    app.test_client_class = FreshContextClient
    with app.app_context(), clock.travel(NOW) as travel:
        ids = build(app, travel, NOW)
        people = {role: db.session.get(User, uid) for role, uid in ids["users"].items()}
        lead, partner, reviewer = people["lead"], people["partner"], people["other_reviewer"]
        lead.locale = "kk"
        now = clock.now()
        # the lead follows the calls, takes everything on all three channels
        db.session.add(Subscription(email=lead.email, language="kk", confirmed_at=now))
        db.session.add(TelegramLink(user_id=lead.id, chat_id=LEAD_CHAT, username="lead", linked_at=now))
        db.session.add(PhoneNumber(user_id=lead.id, phone=LEAD_PHONE, verified_at=now))
        _choose(lead, KINDS, telegram=True, sms=True)
        # the partner wants its confirmation reminder in Telegram only
        db.session.add(TelegramLink(user_id=partner.id, chat_id=PARTNER_CHAT, username="partner", linked_at=now))
        _choose(partner, {"partner_confirm"}, email=False, telegram=True)
        # a stranger has linked a chat too, and asks about an application not theirs
        db.session.add(TelegramLink(user_id=ids["users"]["stranger"], chat_id=STRANGER_CHAT, linked_at=now))
        # a second reviewer's seat, open, due in five days; reminders by email and SMS
        db.session.add(PhoneNumber(user_id=reviewer.id, phone=REVIEWER_PHONE, verified_at=now))
        _choose(reviewer, {"review_due"}, sms=True)
        seat = Assignment(application_id=ids["app"], reviewer_id=reviewer.id, seat=2, due_at=now + timedelta(days=5))
        db.session.add(seat)
        db.session.commit()
        ids["open_assignment"] = seat.id
        # a second consortium, its partner not confirmed yet, with a draft in the open call
        from grants.calls.models import Call

        second = consortia.create(lead, name="Екінші консорциум", lead_organization_id=ids["org"],
                                  partner_organization_ids=[ids["partner_org"]])  # fmt: skip
        applications.create(lead, db.session.get(Call, ids["open_call"]), second)
        # a new call is announced to the subscribers at once
        from conftest import call_data

        new = calls.create(people["manager"], call_data(code="NEW-1", opens_at=now.isoformat(),
                                                        closes_at=(now + timedelta(days=60)).isoformat()))  # fmt: skip
        calls.publish(people["manager"], new)
        ids["instants"] = _instants(ids, now)
        for moment in ids["instants"]:
            travel.to(moment)
            alerts.run_scan(moment)
        yield app, ids, travel
        db.session.remove()
        db.engine.dispose()


def _rows():
    """The alerts (messages rendered at their event, like receipts, are logged too: not these)."""
    query = db.select(Notification).where(Notification.payload.is_(None)).order_by(Notification.id)
    return db.session.execute(query).scalars().all()


def _groups(rows):
    """{(kind, object, offset, recipient): {channel: row}}"""
    out = defaultdict(dict)
    for row in rows:
        out[(row.kind, row.object_type, row.object_id, row.offset_days, row.due_at, row.recipient)][row.channel] = row
    return out


def test_every_alert_kind_reaches_each_person_once_per_chosen_channel(world, fake_telegram, fake_sms):
    app, ids, travel = world
    rows = _rows()
    groups = _groups(rows)
    lead = "lead@example.kz"
    kinds_of_lead = {key[0] for key in groups if key[-1] == lead}
    # (a tranche is due from the programme: its alerts go to the managers, who pay it)
    assert kinds_of_lead >= KINDS - {"partner_confirm", "review_due", "award_overdue"}, kinds_of_lead
    assert any(k[0] in ("award_due", "award_overdue") and k[1] == "tranche" and k[-1] == "manager@example.kz"
               for k in groups)  # fmt: skip
    sent_kinds = set()
    for key, by_channel in groups.items():
        if key[-1] == lead:
            assert set(by_channel) == {"email", "telegram", "sms"}, key
            statuses = {r.status for r in by_channel.values()}
            # sent on every channel, or (an older offset passed by the time travel) skipped on every one
            assert statuses in ({Status.SENT}, {Status.SKIPPED}), [
                (r.channel, r.status, r.error) for r in by_channel.values()
            ]
            if statuses == {Status.SENT}:
                sent_kinds.add(key[0])
    assert sent_kinds >= KINDS - {"partner_confirm", "review_due", "award_overdue"}, sent_kinds
    [partner] = [g for k, g in groups.items() if k[0] == "partner_confirm" and k[-1] == "partner@example.kz"]
    assert set(partner) == {"email", "telegram"}
    assert (partner["email"].status, partner["email"].error) == (Status.SKIPPED, "email not chosen for this alert")
    assert partner["telegram"].status == Status.SENT and partner["telegram"].address == str(PARTNER_CHAT)
    [review] = [g for k, g in groups.items() if k[0] == "review_due"]
    assert set(review) == {"email", "sms"} and {r.status for r in review.values()} == {Status.SENT}
    # what the fakes received: one message per sent row, to the chosen address
    sent_tg = [r for r in rows if r.channel == "telegram" and r.status == Status.SENT]
    sent_sms = [r for r in rows if r.channel == "sms" and r.status == Status.SENT]
    assert sorted(int(r.body["chat_id"]) for r in fake_telegram.requests) == sorted(int(r.address) for r in sent_tg)
    assert sorted(r.body["to"] for r in fake_sms.requests) == sorted(r.address for r in sent_sms)
    assert all(r.path == "/bot123456:TEST-token/sendMessage" for r in fake_telegram.requests)
    assert all(
        r.headers["Authorization"] == "Bearer sms-token" and r.body["sender"] == "Grants" for r in fake_sms.requests
    )
    # each SMS has at most two parts, and the row says how many
    for row, request in zip(sent_sms, fake_sms.requests, strict=True):
        assert row.segments == count_parts(request.body["text"]).parts <= 2, request.body["text"]
    # scanning the same moments again sends nothing more
    before = (len(rows), len(fake_telegram.requests), len(fake_sms.requests))
    for moment in ids["instants"]:
        alerts.run_scan(moment)
    assert (len(_rows()), len(fake_telegram.requests), len(fake_sms.requests)) == before


def test_kazakh_and_russian_texts_read_as_a_person_reads_them(world, fake_telegram, fake_sms):
    lead_texts = fake_telegram.messages(LEAD_CHAT)
    draft = next(t for t in lead_texts if "қаралама" in t)
    assert draft.startswith("OPEN: өтініміңіз әлі қаралама күйінде. Тапсыру мерзімі: ")
    assert "Астана уақытымен" in draft and draft.endswith("\nhttp://localhost/applications")  # two drafts: the list
    assert any(t.startswith("Жаңа өтінімдер байқауы: NEW-1.") for t in lead_texts)
    assert any(t.startswith("OPEN: өтінімдер мына мерзімге дейін қабылданады: ") for t in lead_texts)
    assert any("Аралық есеп" in t or "Транш" in t for t in lead_texts), lead_texts
    [partner] = fake_telegram.messages(PARTNER_CHAT)
    assert partner.startswith("OPEN: подтвердите участие вашей организации в консорциуме до ")
    assert "по времени Астаны (UTC+5)" in partner and "/consortia/" in partner
    [review_sms] = fake_sms.messages(REVIEWER_PHONE)
    assert review_sms.startswith("DECIDED: срок вашей экспертной оценки — ") and count_parts(review_sms).parts <= 2
    assert all(count_parts(t).encoding == "UCS-2" for t in fake_sms.messages(LEAD_PHONE))


def test_the_admin_log_shows_each_channel_and_the_sms_parts(world):
    app, _ids, _travel = world
    client = app.test_client()
    login(client, "admin@example.kz")
    page = client.get("/admin/notifications?kind=draft_deadline").get_data(as_text=True)
    assert "Электронная почта" in page and "Telegram" in page and "SMS" in page
    assert "отправлено в Telegram" in page and "SMS отправлено" in page and "частей SMS: " in page
    assert str(LEAD_CHAT) in page and LEAD_PHONE in page
    partner = client.get("/admin/notifications?kind=partner_confirm").get_data(as_text=True)
    assert "email not chosen for this alert" in partner


def _claim_one(channel_rows: str, offset: int) -> dict[str, int]:
    """A fresh alert for the lead (a new offset of the announcement), claimed on all channels."""
    from grants.alerts.registry import claim

    ids = claim("announcement", object_type="call", object_id=1, offset_days=offset, due_at=None,
                recipients={"lead@example.kz": "kk"}, now=clock.now())  # fmt: skip
    db.session.commit()
    rows = db.session.execute(db.select(Notification).where(Notification.id.in_(ids))).scalars()
    return {row.channel: row.id for row in rows}


def test_telegram_flood_control_retries_after_its_wait_then_fails_after_the_last_attempt(world, fake_telegram):
    from grants.accounts.models import User
    from grants.calls.models import Call
    from grants.calls.services import publish  # noqa: F401  (the announcement exists for call 1)

    assert db.session.get(Call, 1) is not None
    note_id = _claim_one("telegram", 901)["telegram"]
    fake_telegram.fail(*fake_telegram.flood(retry_after=900))
    with pytest.raises(alerts.RetryLater) as later:
        alerts.send(note_id)
    assert later.value.countdown == 900  # Telegram's wait, longer than our backoff
    note = db.session.get(Notification, note_id)
    assert note.status == Status.CLAIMED and "retry after 900" in note.error
    assert alerts.send(note_id) == Status.SENT  # the next try goes through
    # a server error every time: retried with backoff, then failed after MAX_ATTEMPTS
    note_id = _claim_one("telegram", 902)["telegram"]
    fake_telegram.fail(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"},
                       times=alerts.MAX_ATTEMPTS)  # fmt: skip
    for _i in range(alerts.MAX_ATTEMPTS - 1):
        with pytest.raises(alerts.RetryLater):
            alerts.send(note_id)
    assert alerts.send(note_id) == Status.FAILED
    note = db.session.get(Notification, note_id)
    assert note.attempts == alerts.MAX_ATTEMPTS and "Telegram 500" in note.error
    # an administrator sends it again once Telegram is back
    admin = db.session.execute(db.select(User).filter_by(email="admin@example.kz")).scalar_one()
    alerts.resend(admin, note)
    db.session.expire_all()
    assert db.session.get(Notification, note_id).status == Status.SENT


def test_a_blocked_bot_bounces_and_a_refused_sms_fails_at_once(world, fake_telegram, fake_sms):
    app, _ids, _travel = world
    rows = _claim_one("all", 903)
    fake_telegram.fail(*fake_telegram.blocked())
    assert alerts.send(rows["telegram"]) == Status.BOUNCED
    _the_blocked_chat_is_unlinked_and_the_page_says_why(app)
    fake_sms.fail(400, {"error": "invalid number"})
    assert alerts.send(rows["sms"]) == Status.FAILED
    note = db.session.get(Notification, rows["sms"])
    assert note.attempts == 1 and "SMS gateway 400" in note.error
    # the gateway busy: retried, with its Retry-After honoured
    rows = _claim_one("all", 904)
    fake_sms.fail(503, {"error": "busy"}, headers={"Retry-After": "120"})
    with pytest.raises(alerts.RetryLater) as later:
        alerts.send(rows["sms"])
    assert later.value.countdown == 120
    assert alerts.send(rows["sms"]) == Status.SENT
    client = app.test_client()
    login(client, "admin@example.kz")
    page = client.get("/admin/notifications?kind=announcement").get_data(as_text=True)
    assert "не доставлено: получатель заблокировал бота" in page and "Forbidden: bot was blocked by the user" in page


def _ask(app, chat_id: int, text: str, language: str = "ru") -> str:
    response = app.test_client().post(f"/telegram/webhook/{WEBHOOK_SECRET}", json=update(chat_id, text, language=language),
                                      headers=HEADERS)  # fmt: skip
    assert response.status_code == 200
    return response.json["text"]


def test_a_receipt_number_tells_a_linked_member_the_status_and_anyone_else_nothing(world):
    from grants.applications.models import Submission

    app, ids, _travel = world
    receipt = db.session.execute(db.select(Submission.receipt_number).filter_by(application_id=ids["app"])).scalar_one()
    member = _ask(app, LEAD_CHAT, receipt.lower())
    assert member.startswith(f"{receipt}, DECIDED — ") and "Мәртебесі: " in member
    partner = _ask(app, PARTNER_CHAT, receipt)
    assert "Статус: " in partner  # a member of the partner organization may ask too
    not_found = "Заявка с таким номером подтверждения о получении не найдена."
    assert _ask(app, STRANGER_CHAT, receipt) == not_found  # linked, not a member
    assert _ask(app, 5555, receipt) == not_found  # not linked at all
    assert _ask(app, STRANGER_CHAT, "DECIDED-9999") == not_found  # no such receipt: the same answer
    assert _ask(app, LEAD_CHAT, "DECIDED-9999") == "Бұл түбіртек нөмірімен өтінім табылмады."


def _the_blocked_chat_is_unlinked_and_the_page_says_why(app):
    """A 403 from Telegram unlinks the chat (no later alert is attempted) and the person's channels
    page says why, in their language; linking again clears the notice. The link is restored after."""
    from grants.accounts.models import User
    from grants.channels.models import ChannelChoice, TelegramBlocked, TelegramLink
    from grants.channels.services import delivery_channels

    db.session.expire_all()
    assert db.session.execute(db.select(TelegramLink).filter_by(chat_id=LEAD_CHAT)).first() is None
    assert "telegram" not in delivery_channels("announcement", ["lead@example.kz"])["lead@example.kz"]["channels"]
    later = _claim_one("all", 905)
    assert set(later) == {"email", "sms"}  # Telegram is no longer tried
    client = app.test_client()
    login(client, "lead@example.kz")
    page = client.get("/account/channels").get_data(as_text=True)
    assert "Telegram байланысы ажыратылды (" in page and "чатта бот бұғатталған" in page
    assert "Telegram-ды байланыстыру" in page  # and the way to link it again
    # restore the lead's chat for the tests that follow
    lead = db.session.execute(db.select(User).filter_by(email="lead@example.kz")).scalar_one()
    db.session.execute(db.delete(TelegramBlocked))
    db.session.add(TelegramLink(user_id=lead.id, chat_id=LEAD_CHAT, username="lead", linked_at=clock.now()))
    for choice in db.session.execute(db.select(ChannelChoice).filter_by(user_id=lead.id)).scalars():
        choice.telegram = True
    db.session.commit()
    assert "бұғатталған" not in client.get("/account/channels").get_data(as_text=True)


def test_a_resubmitted_application_s_receipt_number_tells_its_status(world):
    """CODE-0001-v2 (a resubmission, grants/applications/submission.py) is a receipt number too."""
    from grants.applications.models import Submission

    app, ids, _travel = world
    first = db.session.execute(db.select(Submission).filter_by(application_id=ids["app"])).scalar_one()
    second = Submission(application_id=ids["app"], version=2, receipt_number=f"{first.receipt_number}-v2",
                        snapshot=first.snapshot, sha256=first.sha256, submitted_at=clock.now())  # fmt: skip
    db.session.add(second)
    db.session.commit()
    try:
        for asked in (f"{first.receipt_number}-v2", f"{first.receipt_number}-V2".lower(), f"{first.receipt_number}-V2"):
            answer = _ask(app, LEAD_CHAT, asked)
            assert answer.startswith(f"{first.receipt_number}-v2, DECIDED — ") and "Мәртебесі: " in answer, answer
        assert _ask(app, STRANGER_CHAT, f"{first.receipt_number}-v2") == (
            "Заявка с таким номером подтверждения о получении не найдена."
        )
        assert _ask(app, LEAD_CHAT, f"{first.receipt_number}-v9") == "Бұл түбіртек нөмірімен өтінім табылмады."
    finally:
        db.session.delete(second)
        db.session.commit()


def test_the_channel_lookup_of_many_recipients_is_cut_into_chunks(world, monkeypatch):
    """claim() looks the recipients' channels up EMAILS_PER_QUERY addresses at a time (20,000
    subscribers would be 20,000 bound parameters in one IN otherwise)."""
    from sqlalchemy import event

    from grants.channels import services

    monkeypatch.setattr(services, "EMAILS_PER_QUERY", 2)
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "channel_choice" in statement:
            statements.append(len(parameters) if isinstance(parameters, tuple | list | dict) else 0)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        emails = [f"nobody{i}@example.kz" for i in range(4)] + ["LEAD@example.kz"]
        found = services.delivery_channels("announcement", emails)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # 5 addresses, 2 a query
    assert found["lead@example.kz"]["channels"] == {"email", "telegram", "sms"}


def test_a_scan_after_an_outage_counts_each_skipped_alert_once_not_per_channel(world):
    """`skipped` (and `flask alerts scan`'s "older missed alerts marked skipped") counts alerts,
    one per person: the lead's skipped Telegram and SMS copies do not add to it."""
    from conftest import call_data

    from grants.accounts.models import User
    from grants.calls import services as calls

    manager = db.session.execute(db.select(User).filter_by(email="manager@example.kz")).scalar_one()
    now = clock.now()
    late = calls.create(manager, call_data(code="LATE-1", opens_at=now.isoformat(),
                                            closes_at=(now + timedelta(days=5)).isoformat()))  # fmt: skip
    calls.publish(manager, late)
    result = alerts.run_scan(now + timedelta(hours=1))
    skipped = db.session.execute(
        db.select(Notification.channel, db.func.count()).where(Notification.object_id == late.id,
                                                               Notification.kind == "deadline",
                                                               Notification.status == Status.SKIPPED)
        .group_by(Notification.channel)
    ).all()  # fmt: skip
    by_channel = dict(skipped)
    assert by_channel["telegram"] == by_channel["sms"] == 2  # the lead's offsets 14 and 30, missed
    assert result.skipped == by_channel["email"] >= 2
