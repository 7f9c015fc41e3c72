"""Public questions and answers per call: asked privately, answered by a manager, published on the
call's page in the reader's language without the asker's name, and emailed once to the call's
subscribers, the owners of its drafts and the asker."""

from __future__ import annotations

import pytest
from conftest import NOW, csrf_token, login, read_outbox, text_of

QUESTION = "Можно ли включить аренду лодки в бюджет проекта?"
PUBLIC = "Можно ли включить в бюджет аренду лодки?"
ANSWER = {
    "kk": "Иә, қайық жалдау бюджетке кіре алады.",
    "ru": "Да, аренда лодки может входить в бюджет.",
    "en": "Yes, renting a boat may be in the budget.",
}


@pytest.fixture
def world(app, frozen, users, make_call, organization):
    """A published call with two subscribers (kk, ru), a draft owner (kk) and an asker (ru)."""
    from grants.applications import services as applications
    from grants.consortia import services as consortia
    from grants.extensions import db
    from grants.subscriptions.models import Subscription

    call = make_call(publish=True)
    for address, language in (("sub-kk@example.kz", "kk"), ("sub-ru@example.kz", "ru")):
        db.session.add(Subscription(email=address, language=language, confirmed_at=NOW))
    lead = users("lead@example.kz", locale="kk")
    org = organization(lead)
    consortium = consortia.create(lead, name="Дала", lead_organization_id=org.id, partner_organization_ids=[])
    applications.create(lead, call, consortium)
    asker = users("asker@example.kz", locale="ru")
    other_manager = users("manager2@example.kz", role="manager")
    db.session.commit()
    return {"call": call, "asker": asker, "lead": lead, "other_manager": other_manager}


def _answers(app) -> dict[str, list]:
    """Answer emails by recipient."""
    out: dict[str, list] = {}
    for msg in read_outbox(app):
        if "aрен" in text_of(msg) or "аренд" in text_of(msg).lower() or "қайық" in text_of(msg):
            if "Reason" in text_of(msg) or "Причина" in text_of(msg) or "Себебі" in text_of(msg):
                continue
            out.setdefault(msg["To"], []).append(msg)
    return out


def _ask(client, call_id: int, text: str = QUESTION):
    token = csrf_token(client, f"/calls/{call_id}")
    return client.post(f"/calls/{call_id}/questions", data={"text": text, "csrf_token": token})


def _question_id(call_id: int) -> int:
    from grants.extensions import db
    from grants.questions.models import CallQuestion

    db.session.expire_all()
    return db.session.execute(db.select(CallQuestion.id).filter_by(call_id=call_id).order_by(CallQuestion.id.desc())
                              ).scalars().first()  # fmt: skip


def _answer_page(client, qid: int, call_id: int, answer: dict, public: str = PUBLIC):
    token = csrf_token(client, f"/manage/calls/{call_id}/questions")
    data = {f"q{qid}-csrf_token": token, f"q{qid}-public_text": public}
    data |= {f"q{qid}-answer_{lang}": text for lang, text in answer.items()}
    return client.post(f"/manage/questions/{qid}/answer", data=data)


def test_answer_is_published_in_the_readers_language_and_sent_once_to_each(app, world, manager):
    from grants.alerts.services import run_scan

    call = world["call"]
    asker_client, manager_client, reader = app.test_client(), app.test_client(), app.test_client()
    login(asker_client, "asker@example.kz")
    assert _ask(asker_client, call.id).status_code == 302
    qid = _question_id(call.id)

    # pending: not on the public page, listed for managers
    assert QUESTION not in reader.get(f"/calls/{call.id}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    login(manager_client, "manager@example.kz")
    listing = manager_client.get("/manage/calls").get_data(as_text=True)
    assert "ждут ответа: 1" in listing
    page = manager_client.get(f"/manage/calls/{call.id}/questions").get_data(as_text=True)
    assert QUESTION in page

    assert _answer_page(manager_client, qid, call.id, ANSWER).status_code == 302
    for language, answer, heading in (("kk", ANSWER["kk"], "Сұрақтар мен жауаптар"),
                                      ("ru", ANSWER["ru"], "Вопросы и ответы")):  # fmt: skip
        html = reader.get(f"/calls/{call.id}", headers={"Accept-Language": language}).get_data(as_text=True)
        assert heading in html and answer in html and PUBLIC in html
        assert QUESTION not in html and "asker" not in html  # reworded, and never who asked

    sent = _answers(app)
    assert sorted(sent) == ["asker@example.kz", "lead@example.kz", "sub-kk@example.kz", "sub-ru@example.kz"]
    assert all(len(messages) == 1 for messages in sent.values()), {k: len(v) for k, v in sent.items()}
    assert ANSWER["kk"] in text_of(sent["sub-kk@example.kz"][0]) and ANSWER["kk"] in text_of(sent["lead@example.kz"][0])
    assert ANSWER["ru"] in text_of(sent["sub-ru@example.kz"][0]) and ANSWER["ru"] in text_of(
        sent["asker@example.kz"][0]
    )
    assert "Unsubscribe" in text_of(sent["sub-ru@example.kz"][0]) or "Отписаться" in text_of(
        sent["sub-ru@example.kz"][0]) or "/unsubscribe" in text_of(sent["sub-ru@example.kz"][0])  # fmt: skip

    # a correction and a later scan send nothing more
    corrected = ANSWER | {"ru": "Да, аренда лодки может входить в бюджет (с договором аренды)."}
    assert _answer_page(manager_client, qid, call.id, corrected).status_code == 302
    run_scan(NOW)
    again = _answers(app)
    assert {k: len(v) for k, v in again.items()} == {k: 1 for k in sent}
    html = reader.get(f"/calls/{call.id}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "с договором аренды" in html


def test_rejection_reason_goes_only_to_the_asker(app, world, manager):
    from grants.audit.models import AuditEvent
    from grants.extensions import db

    call = world["call"]
    asker_client, manager_client, reader = app.test_client(), app.test_client(), app.test_client()
    login(asker_client, "asker@example.kz")
    _ask(asker_client, call.id, "Что-то не по теме конкурса, вопрос про другое?")
    qid = _question_id(call.id)
    login(manager_client, "manager@example.kz")
    token = csrf_token(manager_client, f"/manage/calls/{call.id}/questions")
    before = len(read_outbox(app))
    response = manager_client.post(f"/manage/questions/{qid}/reject",
                                   data={f"r{qid}-csrf_token": token, f"r{qid}-reason": "Вопрос не относится к конкурсу."})  # fmt: skip
    assert response.status_code == 302
    new = read_outbox(app)[before:]
    assert [m["To"] for m in new] == ["asker@example.kz"]
    assert "Вопрос не относится к конкурсу." in text_of(new[0])
    assert "Вопрос не относится" not in reader.get(f"/calls/{call.id}").get_data(as_text=True)
    own = asker_client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Вопрос не относится к конкурсу." in own  # the asker sees the reason on the call's page
    actions = db.session.execute(db.select(AuditEvent.action).filter_by(object_type="question")).scalars().all()
    assert "question.reject" in actions


def test_a_question_needs_text_of_at_most_2000_characters(app, world):
    call = world["call"]
    client = app.test_client()
    login(client, "asker@example.kz")
    response = _ask(client, call.id, "ы" * 2001)
    assert response.status_code == 422
    assert _question_id(call.id) is None


def test_outsiders_never_see_pending_questions(app, world, manager):
    from parallel import api_token

    from grants.questions import services

    call = world["call"]
    question = services.ask(world["asker"], call, QUESTION)
    for who in (None, "asker@example.kz", "lead@example.kz"):
        client = app.test_client()
        if who:
            login(client, who)
            assert client.get(f"/manage/calls/{call.id}/questions").status_code == 404
        assert QUESTION not in client.get(f"/calls/{call.id}").get_data(as_text=True) or who == "asker@example.kz"
    client = app.test_client()
    assert client.get(f"/calls/{call.id}/questions").status_code == 405  # asking is a POST only
    listing = client.get(f"/api/v1/calls/{call.id}/questions").get_json()
    assert listing["items"] == []
    token = api_token(app, world["lead"])
    answer = client.post(f"/api/v1/questions/{question.id}/answer", json={"text": ANSWER},
                         headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert answer.status_code == 404


def test_api_ask_list_answer(app, world, manager):
    from parallel import api_token

    call = world["call"]
    client = app.test_client()
    asker = {"Authorization": f"Bearer {api_token(app, world['asker'])}"}
    boss = {"Authorization": f"Bearer {api_token(app, manager)}", "Accept-Language": "kk"}
    assert client.post(f"/api/v1/calls/{call.id}/questions", json={"text": ""}, headers=asker).status_code == 422
    assert client.post(f"/api/v1/calls/{call.id}/questions", json={"text": QUESTION}).status_code == 401
    created = client.post(f"/api/v1/calls/{call.id}/questions", json={"text": QUESTION}, headers=asker)
    assert created.status_code == 201, created.get_json()
    qid = created.get_json()["id"]
    empty = client.post(f"/api/v1/questions/{qid}/answer", json={"text": {"kk": " "}}, headers=boss)
    assert empty.status_code == 422
    done = client.post(f"/api/v1/questions/{qid}/answer", json={"text": {"kk": ANSWER["kk"], "ru": ANSWER["ru"]}},
                       headers=boss)  # fmt: skip
    assert done.status_code == 200 and done.get_json()["status"] == "answered"
    again = client.post(f"/api/v1/questions/{qid}/answer", json={"text": ANSWER}, headers=boss)
    assert again.status_code == 409
    for language, text in (("kk", ANSWER["kk"]), ("ru", ANSWER["ru"]), ("en", ANSWER["ru"])):  # en falls back to ru
        items = client.get(f"/api/v1/calls/{call.id}/questions", headers={"Accept-Language": language}).get_json()
        assert [(i["question"], i["answer"]) for i in items["items"]] == [(QUESTION, text)]
        assert "asked_by" not in str(items) and "asker" not in str(items)
    schema = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/questions/{question_id}/answer" in schema["paths"]
    assert set(schema["paths"]["/api/v1/calls/{call_id}/questions"]) == {"get", "post"}


def test_asking_is_rate_limited_per_person(app, world):
    from parallel import api_token

    call = world["call"]
    client = app.test_client()
    asker = {"Authorization": f"Bearer {api_token(app, world['asker'])}"}
    statuses = [client.post(f"/api/v1/calls/{call.id}/questions", json={"text": f"Вопрос {n}?"}, headers=asker).status_code
                for n in range(11)]  # fmt: skip
    assert statuses == [201] * 10 + [429]
