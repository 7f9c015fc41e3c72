"""Broadcasts: each segment reaches the right people once, each in their own language (falling back
ru → kk → en), logged in the outbound log; a double post of one form sends once; refusals."""

from __future__ import annotations

import pytest
from conftest import csrf_token, login, read_outbox, text_of
from parallel import api_token, browser_session, fire

from grants.extensions import db

SUBJECT = {"kk": "Есеп беру мерзімі", "ru": "Срок подачи отчётов", "en": ""}
BODY = {"kk": "Есепті 15 желтоқсанға дейін тапсырыңыз.", "ru": "Сдайте отчёт до 15 декабря.", "en": ""}


def _people(segment, call_id=None) -> list[str]:
    from grants.broadcasts import services

    return [email for email, _locale in services.recipients(segment, call_id)]


def test_each_segment_resolves_to_its_people_in_one_query(scene):
    from sqlalchemy import event

    stage = scene.stage
    call = stage.call.id
    assert _people("applicants", call) == ["lead0@example.kz", "lead1@example.kz", "lead2@example.kz"]
    assert _people("drafts", call) == ["draft@example.kz"]
    assert _people("grantees", call) == _people("grantees") == ["lead0@example.kz"]
    assert _people("reviewers", call) == ["r0@example.kz", "r1@example.kz"]
    assert _people("reviewers") == ["r0@example.kz", "r1@example.kz", "r2@example.kz", "r3@example.kz"]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        _people("applicants", call)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 1


def test_each_recipient_gets_one_email_in_their_language_logged(app, scene, client):
    from grants.alerts.models import Notification
    from grants.audit.models import AuditEvent
    from grants.broadcasts.models import Broadcast

    stage = scene.stage
    login(client, stage.manager.email)  # (setting up two-factor login emails the manager)
    before = len(read_outbox(app))
    form = {"segment": "applicants", "call_id": str(stage.call.id), "client_token": "form-1",
            **{f"subject_{k}": v for k, v in SUBJECT.items()}, **{f"body_{k}": v for k, v in BODY.items()}}  # fmt: skip
    token = csrf_token(client, "/manage/broadcasts")
    preview = client.post("/manage/broadcasts", data=form | {"csrf_token": token, "preview": "1"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "lead0@example.kz" in page and "Получателей: 3" in page
    assert len(read_outbox(app)) == before  # a preview sends nothing
    sent = client.post("/manage/broadcasts", data=form | {"csrf_token": token, "send": "1"})
    assert sent.status_code == 302
    again = client.post("/manage/broadcasts", data=form | {"csrf_token": token, "send": "1"})
    assert again.status_code == 302
    mails = {m["To"]: m for m in read_outbox(app)[before:]}
    assert len(read_outbox(app)) == before + 3 and set(mails) == {
        "lead0@example.kz",
        "lead1@example.kz",
        "lead2@example.kz",
    }
    kk, ru = mails["lead0@example.kz"], mails["lead1@example.kz"]
    assert kk["Subject"] == "Есеп беру мерзімі" and "Есепті 15 желтоқсанға дейін тапсырыңыз." in text_of(kk)
    assert "Сәлеметсіз бе" in text_of(kk)
    assert ru["Subject"] == "Срок подачи отчётов" and "Сдайте отчёт до 15 декабря." in text_of(ru)
    assert "Здравствуйте" in text_of(ru)
    [broadcast] = db.session.execute(db.select(Broadcast)).scalars().all()
    assert broadcast.sent_count == 3
    notes = db.session.execute(db.select(Notification).where(Notification.kind == "broadcast")).scalars().all()
    assert sorted(n.recipient for n in notes) == sorted(mails) and {n.object_id for n in notes} == {broadcast.id}
    assert {n.language for n in notes} == {"kk", "ru"}
    audit = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "broadcast.sent")).scalar_one()
    assert audit.after["segment"] == "applicants" and audit.after["count"] == 3
    stage.manager.locale = "kk"
    db.session.commit()
    in_kazakh = client.get("/manage/broadcasts").get_data(as_text=True)
    assert "Адамдар тобына хабарламалар" in in_kazakh and "Байқаудың өтініш берушілері" in in_kazakh
    stage.manager.locale = "ru"
    db.session.commit()
    listing = client.get("/manage/broadcasts").get_data(as_text=True)
    assert "Срок подачи отчётов" in listing and "Заявители конкурса (поданные заявки)" in listing
    assert "Это сообщение уже отправлено." in in_kazakh  # the second post was told (flashed in Russian), not sent


def test_a_missing_language_falls_back_to_russian_then_kazakh(app, scene):
    from grants.broadcasts import services

    stage = scene.stage
    before = len(read_outbox(app))
    services.send_broadcast(stage.manager, segment="drafts", call_id=stage.call.id, subject={"kk": "Тақырып"},
                            body={"kk": "Өтінімді тапсыруды ұмытпаңыз."}, client_token="kk-only")  # fmt: skip
    [mail] = read_outbox(app)[before:]
    assert mail["To"] == "draft@example.kz" and mail["Subject"] == "Тақырып"
    assert "Өтінімді тапсыруды ұмытпаңыз." in text_of(mail)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_identical_posts_at_once_make_one_broadcast(app, scene, live_server):
    import urllib.parse

    from grants.alerts.models import Notification
    from grants.broadcasts.models import Broadcast

    stage = scene.stage
    base = live_server(app)
    cookie, csrf = browser_session(base, stage.manager.email, "/manage/broadcasts")
    form = {"segment": "reviewers", "call_id": "", "client_token": "double-click", "subject_ru": "Тема",
            "body_ru": "Текст", "send": "1", "csrf_token": csrf}  # fmt: skip
    body = urllib.parse.urlencode(form).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    results = fire(base, [("POST", "/manage/broadcasts", None, body)] * 4, headers=headers)
    assert all(r.status in (200, 302) for r in results), [(r.status, str(r.body)[:300]) for r in results]
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(Broadcast.id))).scalar_one() == 1
    notes = db.session.execute(db.select(Notification.recipient).where(Notification.kind == "broadcast")).scalars()
    assert sorted(notes) == ["r0@example.kz", "r1@example.kz", "r2@example.kz", "r3@example.kz"]


def test_refusals(app, scene, client):
    from grants.broadcasts.models import Broadcast

    stage = scene.stage
    login(client, "lead0@example.kz")
    assert client.get("/manage/broadcasts").status_code in (403, 404)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    client2 = app.test_client()
    login(client2, stage.manager.email)
    token = csrf_token(client2, "/manage/broadcasts")
    nothing = client2.post("/manage/broadcasts", headers={"Accept-Language": "ru"},
                           data={"csrf_token": token, "segment": "reviewers", "client_token": "x", "send": "1"})  # fmt: skip
    assert nothing.status_code == 422
    assert "Напишите тему и текст хотя бы на одном языке." in nothing.get_data(as_text=True)
    unknown = client2.post("/manage/broadcasts", data={"csrf_token": token, "segment": "everyone",
                                                       "subject_ru": "Т", "body_ru": "Т", "send": "1"})  # fmt: skip
    assert unknown.status_code == 422
    assert db.session.execute(db.select(db.func.count(Broadcast.id))).scalar_one() == 0


def test_the_api_sends_once_per_client_token(app, scene, client):
    stage = scene.stage
    token = api_token(app, stage.manager)
    before = len(read_outbox(app))
    head = {"Authorization": f"Bearer {token}", "Accept-Language": "ru"}
    payload = {"segment": "grantees", "call_id": stage.call.id, "subject": {"ru": "Грантополучателям"},
               "body": {"ru": "Напоминаем об отчёте."}, "client_token": "api-1"}  # fmt: skip
    first = client.post("/api/v1/broadcasts", json=payload, headers=head)
    assert first.status_code == 201 and first.json["recipients"] == 1
    second = client.post("/api/v1/broadcasts", json=payload, headers=head)
    assert second.status_code == 201 and second.json["id"] == first.json["id"]
    assert [m["To"] for m in read_outbox(app)[before:]] == ["lead0@example.kz"]
    no_language = client.post("/api/v1/broadcasts", json=payload | {"client_token": "api-2", "subject": {}},
                              headers=head)  # fmt: skip
    assert no_language.status_code == 422
    unknown = client.post("/api/v1/broadcasts", json=payload | {"client_token": "api-3", "segment": "all"},
                          headers=head)  # fmt: skip
    assert unknown.status_code == 422
    lead = client.post("/api/v1/broadcasts", json=payload | {"client_token": "api-4"},
                       headers={"Authorization": f"Bearer {api_token(app, stage.leads[0])}"})  # fmt: skip
    assert lead.status_code in (403, 404)
