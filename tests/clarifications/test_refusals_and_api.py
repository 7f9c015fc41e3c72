"""Who may not ask, see or answer, and the JSON API (API.md "Additions": clarifications)."""

import io
from datetime import timedelta

import pytest
from conftest import PASSWORD, api_login, csrf_token, login

from clarifications.conftest import PDF
from grants.clarifications import services
from grants.clarifications.models import Clarification, ClarificationReply
from grants.core import clock
from grants.core.errors import Conflict, Forbidden
from grants.extensions import db


def token(client, email: str) -> dict:
    response = api_login(client, email, PASSWORD)
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}", "Accept-Language": "ru"}


def _count(model) -> int:
    return db.session.execute(db.select(db.func.count(model.id))).scalar()


def test_no_request_on_a_draft_and_the_draft_is_not_even_seen(scene, client):
    with pytest.raises(Conflict) as refused:
        services.ask(scene.manager, scene.draft, question="?", reply_by=clock.now() + timedelta(days=3))
    assert refused.value.code == "not_submitted"
    headers = token(client, scene.manager.email)
    response = client.post(f"/api/v1/applications/{scene.draft.id}/clarifications",
                           json={"question": "Где смета?", "reply_by": (clock.now() + timedelta(days=3)).isoformat()},
                           headers=headers)  # fmt: skip
    assert response.status_code == 404  # managers never see drafts
    login(client, scene.manager.email)
    assert client.get(f"/applications/{scene.draft.id}/clarifications").status_code == 404
    assert _count(Clarification) == 0


def test_reply_by_must_be_in_the_future_and_the_question_written(scene, client):
    headers = token(client, scene.manager.email)
    url = f"/api/v1/applications/{scene.app.id}/clarifications"
    past = client.post(url, json={"question": "Где смета?", "reply_by": (clock.now() - timedelta(hours=1)).isoformat()},
                       headers=headers)  # fmt: skip
    assert past.status_code == 422 and past.json["error"]["fields"]["reply_by"] == [
        "Срок ответа должен быть в будущем."
    ]
    empty = client.post(url, json={"question": "  ", "reply_by": (clock.now() + timedelta(days=1)).isoformat()},
                        headers=headers)  # fmt: skip
    assert empty.status_code == 422 and "question" in empty.json["error"]["fields"]
    assert _count(Clarification) == 0


def test_partner_reads_but_does_not_answer_outsiders_and_other_reviewers_get_404(scene, app):
    """The rule chosen: only people acting for the lead (consortia.rules.acts_for_lead) answer for
    the consortium; a partner's member reads the thread."""
    item = services.ask(scene.manager, scene.app, question="Приложите письмо акимата.",
                        reply_by=clock.now() + timedelta(days=5))  # fmt: skip
    url = f"/applications/{scene.app.id}/clarifications"
    partner = app.test_client()
    login(partner, scene.partner.email)
    page = partner.get(url)
    assert page.status_code == 200 and "Приложите письмо акимата." in page.get_data(as_text=True)
    assert 'name="text"' not in page.get_data(as_text=True)
    reply_token = csrf_token(partner, url)
    assert partner.post(f"/clarifications/{item.id}/reply", data={"text": "Ответ", "csrf_token": reply_token}
                        ).status_code == 404  # fmt: skip
    with pytest.raises(Forbidden):
        services.reply(scene.partner, item, text="Ответ")
    for person in (scene.outsider, scene.other_reviewer):
        other = app.test_client()
        login(other, person.email)
        assert other.get(url).status_code == 404
        assert other.get(f"/api/v1/applications/{scene.app.id}/clarifications",
                         headers=token(other, person.email)).status_code == 404  # fmt: skip
    assert _count(ClarificationReply) == 0


def test_api_ask_answer_with_a_file_list_and_late_refusal(scene, client, frozen):
    manager = token(client, scene.manager.email)
    reply_by = clock.now() + timedelta(days=2)
    asked = client.post(f"/api/v1/applications/{scene.app.id}/clarifications",
                        json={"question": "Уточните смету", "reply_by": reply_by.isoformat()}, headers=manager)  # fmt: skip
    assert asked.status_code == 201 and asked.json["status"] == "open"
    lead = token(client, scene.lead.email)
    url = f"/api/v1/clarifications/{asked.json['id']}/reply"
    answered = client.post(url, data={"text": "Смета уточнена", "file": (io.BytesIO(PDF), "Смета (жаңа).pdf")},
                           headers=lead, content_type="multipart/form-data")  # fmt: skip
    assert answered.status_code == 201, answered.json
    digest = answered.json["sha256"]
    assert len(digest) == 64 and answered.json["files"][0]["filename"] == "Смета (жаңа).pdf"
    partner = token(client, scene.partner.email)
    assert client.post(url, data={"text": "Я партнёр"}, headers=partner,
                       content_type="multipart/form-data").status_code == 404  # fmt: skip
    listed = client.get(f"/api/v1/applications/{scene.app.id}/clarifications", headers=partner)
    assert listed.status_code == 200 and listed.json["items"][0]["replies"][0]["sha256"] == digest
    reviewer = token(client, scene.reviewer.email)
    seen = client.get(f"/api/v1/applications/{scene.app.id}/clarifications", headers=reviewer).json
    assert seen["items"][0]["replies"][0]["files"][0]["filename"] is None  # blind call: no file names
    assert seen["items"][0]["replies"][0]["text"] == "Смета уточнена"
    frozen.to(reply_by + timedelta(seconds=1))
    late = client.post(url, data={"text": "Ещё одно"}, headers=lead, content_type="multipart/form-data")
    assert late.status_code == 409 and late.json["error"]["code"] == "reply_late"
    assert "Срок ответа истёк" in late.json["error"]["message"] and "(UTC+5)" in late.json["error"]["message"]
    closed = client.post(f"/api/v1/clarifications/{asked.json['id']}/close", headers=manager)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert _count(ClarificationReply) == 1
