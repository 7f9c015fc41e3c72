"""Clarification requests through the pages, as each person uses them: a manager asks, the lead
answers with a file, the reviewer reads the answer beside the application, the application PDF
carries it with its SHA-256; and every refusal says why (or answers 404 to those who may not know)."""

import hashlib
import io
import json
import re
from datetime import timedelta

import pytest
from conftest import csrf_token, login, read_outbox, text_of
from pypdf import PdfReader

from clarifications.conftest import PDF, build
from grants.audit.models import AuditEvent
from grants.clarifications.models import Clarification, ClarificationReply
from grants.core import clock
from grants.extensions import db

FILE_NAME = "Қосымша хат — смета №2.pdf"
ANSWER = "Бюджеттің 2-жолы бойынша түсініктеме: семинар екі ауданда өтеді."


def _local(moment) -> str:
    from grants.i18n import display_zone

    return moment.astimezone(display_zone()).strftime("%Y-%m-%dT%H:%M")


def _signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


def _thread(app_id: int) -> str:
    return f"/applications/{app_id}/clarifications"


def _ask(client, app_id: int, question: str, reply_by: str):
    token = csrf_token(client, _thread(app_id))
    return client.post(f"{_thread(app_id)}/ask", data={"question": question, "reply_by": reply_by, "csrf_token": token})


def _answer(client, app_id: int, item_id: int, text: str, files=()):
    token = csrf_token(client, _thread(app_id))
    data = {"text": text, "csrf_token": token, "file": [(io.BytesIO(body), name) for name, body in files]}
    return client.post(f"/clarifications/{item_id}/reply", data=data, content_type="multipart/form-data")


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    ("lead_locale", "words"),
    [
        ("kk", {"hello": "Сәлеметсіз бе", "asked": "Нақтылау сұраулары", "late": "мерзімі аяқталды"}),
        ("ru", {"hello": "Здравствуйте", "asked": "Запросы уточнений", "late": "Срок ответа"}),
    ],
)
def test_manager_asks_lead_answers_with_a_file_reviewer_and_pdf_show_it(
    app, frozen, users, organization, manager, lead_locale, words
):
    scene = build(frozen=frozen, users=users, organization=organization, manager=manager, lead_locale=lead_locale)
    manager.locale = lead_locale
    db.session.commit()
    app_id = scene.app.id
    boss = _signed_in(app, manager)
    reply_by = clock.now() + timedelta(days=7)
    response = _ask(boss, app_id, "Смета бойынша 2-жолды түсіндіріңіз.", _local(reply_by))
    assert response.status_code == 302
    item = db.session.execute(db.select(Clarification)).scalar_one()
    assert item.status == "open"

    mails = [m for m in read_outbox(app) if m["To"] == scene.lead.email]
    body = text_of(mails[-1])
    assert words["hello"] in body and "Смета бойынша 2-жолды" in body
    assert "(UTC+5)" in body and f"/applications/{app_id}/clarifications" in body

    lead = _signed_in(app, scene.lead)
    page = lead.get(f"/applications/{app_id}").get_data(as_text=True)
    assert words["asked"] in page and f"/applications/{app_id}/clarifications" in page
    response = _answer(lead, app_id, item.id, ANSWER, [(FILE_NAME, PDF)])
    assert response.status_code == 302
    reply = db.session.execute(db.select(ClarificationReply)).scalar_one()
    expected = hashlib.sha256(json.dumps({"files": [hashlib.sha256(PDF).hexdigest()], "text": ANSWER},
                                         sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()  # fmt: skip
    assert reply.sha256 == expected
    assert reply.files[0].filename == FILE_NAME  # Unicode name kept
    thread = lead.get(_thread(app_id)).get_data(as_text=True)
    assert ANSWER in thread and expected in thread and FILE_NAME in thread
    shown = lead.get(f"/applications/{app_id}").get_data(as_text=True)
    assert expected in shown  # the addendum's fingerprint on the application page

    download = lead.get(f"/clarifications/{item.id}/files/{reply.files[0].id}")
    assert download.status_code == 200 and download.data == PDF

    reviewer = _signed_in(app, scene.reviewer)
    review = reviewer.get(f"/reviews/{scene.assignment.id}").get_data(as_text=True)
    assert ANSWER in review and expected in review and "Смета бойынша 2-жолды" in review
    assert FILE_NAME not in review and "Арал Жасыл Ұйым" not in review  # blind call: no names
    assert reviewer.get(f"/clarifications/{item.id}/files/{reply.files[0].id}").data == PDF

    pdf = lead.get(f"/applications/{app_id}/application.pdf")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.data)
    assert _squash(ANSWER) in _squash(text) and expected in _squash(text)
    blind = _pdf_text(reviewer.get(f"/reviews/{scene.assignment.id}/application.pdf").data)
    assert _squash(ANSWER) in _squash(blind) and expected in _squash(blind) and _squash(FILE_NAME) not in _squash(blind)

    actions = [a for (a,) in db.session.execute(db.select(AuditEvent.action).where(
        AuditEvent.object_type == "clarification").order_by(AuditEvent.id))]  # fmt: skip
    assert actions == ["clarification.asked", "clarification.answered"]

    # Late: after reply_by the answer is refused with the date, in the lead's language.
    frozen.to(reply_by + timedelta(minutes=1))
    lead = _signed_in(app, scene.lead)  # days later: new sessions (the first ones have been idle too long)
    boss = _signed_in(app, manager)
    page = lead.get(_thread(app_id)).get_data(as_text=True)
    assert words["late"] in page and 'name="text"' not in page  # no form, a notice instead
    token = csrf_token(lead, _thread(app_id))
    refused = lead.post(f"/clarifications/{item.id}/reply", data={"text": "Кешігіп жауап", "csrf_token": token})
    assert refused.status_code == 409
    assert words["late"] in refused.get_data(as_text=True) and "(UTC+5)" in refused.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count(ClarificationReply.id))).scalar() == 1

    # The manager closes the request; the audit log says so.
    token = csrf_token(boss, _thread(app_id))
    assert boss.post(f"/clarifications/{item.id}/close", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Clarification, item.id).status == "closed"
    assert db.session.execute(db.select(AuditEvent).filter_by(action="clarification.closed")).scalar_one()
