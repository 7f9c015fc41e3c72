"""Issue 13, item 8 "The API does what the pages do": organizations declare women-/youth-led status
with an evidence file (multipart), an assigned reviewer reads the application (blind as on the
review page), applicants read their eligibility result, managers reopen a review, create awards and
issue letters, and an invited person accepts an invitation — each through the same services as the
pages, with the refusals the pages give (SQLite and PostgreSQL: the default fixtures)."""

from __future__ import annotations

import io
import json
import re

from conftest import api_login, org_data, read_outbox, text_of
from reviews.conftest import score_all, stage  # noqa: F401  (the fixture)

from grants.extensions import db


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


def token_for(client, email: str) -> dict:
    response = api_login(client, email, "correct-horse-42")
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def _form(data: dict, evidence: tuple[bytes, str] | None = None) -> dict:
    form = {k: v for k, v in data.items()}
    if evidence is not None:
        form["evidence"] = (io.BytesIO(evidence[0]), evidence[1])
    return form


# --- 1. organizations: evidence by multipart -------------------------------------------------------


def test_an_organization_declares_women_and_youth_led_with_evidence_through_the_api(client, users):
    users("owner@example.kz")
    headers = token_for(client, "owner@example.kz")

    # JSON without evidence: refused as the web form refuses it, in the caller's language.
    refused = client.post("/api/v1/organizations", json=org_data(women_led=True),
                          headers=headers | {"Accept-Language": "ru"})  # fmt: skip
    assert refused.status_code == 422
    assert "evidence" in refused.json["error"]["fields"]
    assert "Приложите" in refused.json["error"]["message"] or "подтвержд" in refused.json["error"]["message"].lower()

    # A "PDF" that is not one: checked by content, nothing created.
    fake = client.post("/api/v1/organizations", data=_form(org_data(women_led="true"), (b"just text", "charter.pdf")),
                       headers=headers, content_type="multipart/form-data")  # fmt: skip
    assert fake.status_code == 415, fake.json
    assert client.get("/api/v1/organizations", headers=headers).json["total"] == 0

    # Multipart with the evidence: created, declared, not yet verified.
    made = client.post("/api/v1/organizations", data=_form(org_data(women_led="true", themes="water"),
                                                           (_pdf(), "charter.pdf")),
                       headers=headers, content_type="multipart/form-data")  # fmt: skip
    assert made.status_code == 201, made.json
    org = made.json
    assert org["women_led"] is True and org["youth_led"] is False and org["women_led_verified"] is False
    assert org["name"] == "Эко Дала" and org["themes"] == ["water"]
    from grants.organizations.models import Organization

    stored = db.session.get(Organization, org["id"])
    assert stored.evidence_filename == "charter.pdf" and len(stored.evidence_sha256) == 64

    # A manager verifies; a PATCH declaring youth-led with new evidence withdraws the verification.
    users("boss@example.kz", role="manager")
    boss = token_for(client, "boss@example.kz")
    verified = client.post(f"/api/v1/organizations/{org['id']}/verify", json={"women_led": True, "youth_led": False},
                           headers=boss)  # fmt: skip
    assert verified.json["women_led_verified"] is True
    patched = client.patch(f"/api/v1/organizations/{org['id']}",
                           data=_form({"youth_led": "y", "women_led": "y"}, (_pdf(), "board.pdf")),
                           headers=headers, content_type="multipart/form-data")  # fmt: skip
    assert patched.status_code == 200, patched.json
    assert patched.json["youth_led"] is True and patched.json["women_led"] is True
    assert patched.json["women_led_verified"] is False
    db.session.expire_all()
    assert db.session.get(Organization, org["id"]).evidence_filename == "board.pdf"

    # "false" in a form means false; JSON bodies keep working as before.
    unset = client.patch(f"/api/v1/organizations/{org['id']}", data={"youth_led": "false", "women_led": "true"},
                         headers=headers, content_type="multipart/form-data")  # fmt: skip
    assert unset.status_code == 200 and unset.json["youth_led"] is False
    renamed = client.patch(f"/api/v1/organizations/{org['id']}", json={"name": "Эко Дала ҚБ"}, headers=headers)
    assert renamed.status_code == 200 and renamed.json["name"] == "Эко Дала ҚБ" and renamed.json["women_led"] is True
    plain = client.post("/api/v1/organizations", json=org_data(name="Жай ұйым", bin=None, legal_form="initiative_group"),
                        headers=headers)  # fmt: skip
    assert plain.status_code == 201, plain.json

    doc = client.get("/api/v1/openapi.json").json
    for path, method in (("/api/v1/organizations", "post"), ("/api/v1/organizations/{org_id}", "patch")):
        content = doc["paths"][path][method]["requestBody"]["content"]
        assert set(content) == {"application/json", "multipart/form-data"}
        assert content["multipart/form-data"]["schema"]["properties"]["evidence"]["format"] == "binary"


# --- 2, 3, 6. the review stage ----------------------------------------------------------------------


def _assignment_of(app_id: int, reviewer_id: int):
    from grants.reviews.models import Assignment

    return db.session.execute(
        db.select(Assignment).filter_by(application_id=app_id, reviewer_id=reviewer_id)
    ).scalar_one_or_none()


def test_reviewer_reads_the_assigned_application_blind_and_others_get_404(client, stage):  # noqa: F811
    from grants.calls.models import Call
    from grants.reviews import services

    call = db.session.get(Call, stage.call.id)
    call.blind_review = True
    for app in stage.apps:
        services.set_eligibility(stage.manager, app, eligible=True, reason="")
    services.auto_assign(stage.manager, call)
    db.session.commit()
    app = stage.apps[1]
    reviewer = next(r for r in stage.reviewers if _assignment_of(app.id, r.id) is not None)
    outsider = next(r for r in stage.reviewers if _assignment_of(app.id, r.id) is None)
    url = f"/api/v1/applications/{app.id}"

    headers = token_for(client, reviewer.email)
    assert client.get(url, headers=headers).status_code == 404  # before the declaration: closed
    services.declare(reviewer, _assignment_of(app.id, reviewer.id), conflict=False)
    db.session.commit()
    seen = client.get(url, headers=headers | {"Accept-Language": "ru"})
    assert seen.status_code == 200, seen.json
    assert seen.json["title"] == "Таза Арал" and seen.json["budget_total"] == 2_000_000
    text = json.dumps(seen.json, ensure_ascii=False)
    for name in ("Lead 1", "Partner 1", "C1"):
        assert name not in text  # no organization or consortium names on a blind call
    assert "consortium_id" not in seen.json
    assert [m["organization"] for m in seen.json["consortium"]] == ["Ведущая организация", "Партнёр 1"]
    assert seen.json["consortium"][1]["partner_role"] == "Еріктілерді оқытады"
    assert {line["organization"] for line in seen.json["budget_lines"]} == {"Ведущая организация", "Партнёр 1"}

    from grants.applications.models import AccessLogEntry

    logged = db.session.execute(db.select(AccessLogEntry).filter_by(application_id=app.id, viewer_role="reviewer"))
    assert [e.user_id for e in logged.scalars()] == [reviewer.id]

    # Everyone else's access is unchanged: another reviewer and a stranger get 404, the lead reads it all.
    assert client.get(url, headers=token_for(client, outsider.email)).status_code == 404
    assert client.get(f"/api/v1/applications/{stage.apps[0].id}", headers=headers).status_code == 404
    lead = client.get(url, headers=token_for(client, stage.leads[1].email)).json
    assert lead["consortium_id"] == app.consortium_id and "consortium" not in lead

    # The reviewer joins a consortium organization: the content closes (404) and the conflict is kept.
    from grants.organizations.models import Membership

    db.session.add(Membership(user_id=reviewer.id, organization_id=app.consortium.lead_organization_id, role="editor"))
    db.session.commit()
    assert client.get(url, headers=headers).status_code == 404
    db.session.expire_all()
    assert _assignment_of(app.id, reviewer.id).status == "conflicted"


def test_eligibility_result_and_reopening_a_review(client, stage, users):  # noqa: F811
    from grants.calls.models import Call
    from grants.reviews import services

    app, other = stage.apps[0], stage.apps[1]
    lead = token_for(client, stage.leads[0].email)
    partner = token_for(client, "partner0@example.kz")
    boss = token_for(client, stage.manager.email)
    url = f"/api/v1/applications/{app.id}/eligibility"
    assert client.get(url, headers=lead).json == {"eligible": None, "reason": None, "decided_at": None}
    assert client.get(url).status_code == 401
    assert client.get(url, headers=token_for(client, stage.leads[2].email)).status_code == 404  # another applicant
    assert client.get(url, headers=token_for(client, stage.reviewers[1].email)).status_code == 404

    services.set_eligibility(stage.manager, app, eligible=False, reason="Бюджет лимиттен асады")
    services.set_eligibility(stage.manager, other, eligible=True, reason="")
    db.session.commit()
    result = client.get(url, headers=lead).json
    assert result["eligible"] is False and result["reason"] == "Бюджет лимиттен асады" and result["decided_at"]
    assert client.get(url, headers=partner).json["eligible"] is False
    assert client.get(url, headers=boss).json["reason"] == "Бюджет лимиттен асады"
    eligible = client.get(f"/api/v1/applications/{other.id}/eligibility", headers=boss).json
    assert eligible["eligible"] is True and eligible["reason"] is None and eligible["decided_at"]

    # Reopening a submitted review (manager, with a reason).
    call = db.session.get(Call, stage.call.id)
    services.auto_assign(stage.manager, call)
    db.session.commit()
    score_all(stage, lambda a: {"relevance": 8, "feasibility": 7, "impact": 4})
    db.session.commit()
    from grants.reviews.models import Assignment

    assignment = db.session.execute(db.select(Assignment).filter_by(application_id=other.id)).scalars().first()
    reopen = f"/api/v1/assignments/{assignment.id}/reopen"
    reviewer = token_for(client, assignment.reviewer.email)
    assert client.post(reopen, json={"reason": "Түсініктеме жоқ"}, headers=reviewer).status_code == 404
    assert client.post(reopen, json={"reason": "Түсініктеме жоқ"}).status_code == 401
    empty = client.post(reopen, json={"reason": " "}, headers=boss | {"Accept-Language": "kk"})
    assert empty.status_code == 422 and "reason" in empty.json["error"]["fields"]
    assert client.post("/api/v1/assignments/2147483647/reopen", json={"reason": "x"}, headers=boss).status_code == 404
    reopened = client.post(reopen, json={"reason": "Бағалар түсіндірілмеген"}, headers=boss)
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "declared"
    again = client.post(reopen, json={"reason": "Тағы"}, headers=boss | {"Accept-Language": "ru"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "not_submitted"
    assert again.json["error"]["message"] == "Эта экспертная оценка не отправлена."
    # The reviewer can score again.
    put = client.put(f"/api/v1/assignments/{assignment.id}/review", headers=reviewer,
                     json={"scores": {"relevance": 9, "feasibility": 7, "impact": 4}, "comments": {}, "submit": True})  # fmt: skip
    assert put.status_code == 200, put.json


# --- 7. invitations ------------------------------------------------------------------------------


def test_an_invited_person_accepts_through_the_api(client, users, organization):
    owner = users("owner@example.kz")
    org = organization(owner)
    users("new@example.kz", locale="kk")
    users("someone@example.kz")
    db.session.commit()
    invited = client.post(f"/api/v1/organizations/{org.id}/members", json={"email": "new@example.kz", "role": "editor"},
                          headers=token_for(client, "owner@example.kz"))  # fmt: skip
    assert invited.status_code == 201
    [message] = [m for m in read_outbox(client.application) if m["To"] == "new@example.kz"]
    token = re.search(r"/invitations/([A-Za-z0-9_\-]+)", text_of(message)).group(1)

    url = "/api/v1/invitations/accept"
    assert client.post(url, json={"token": token}).status_code == 401
    wrong = client.post(url, json={"token": token}, headers=token_for(client, "someone@example.kz"))
    assert wrong.status_code == 400 and wrong.json["error"]["code"] == "wrong_account"
    bad = client.post(url, json={"token": "nonsense"}, headers=token_for(client, "new@example.kz"))
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_token"
    assert client.post(url, json={}, headers=token_for(client, "new@example.kz")).status_code == 422
    headers = token_for(client, "new@example.kz") | {"Accept-Language": "kk"}
    joined = client.post(url, json={"token": token}, headers=headers)
    assert joined.status_code == 200, joined.json
    assert joined.json["id"] == org.id
    assert {"id": org.id, "role": "editor"} in client.get("/api/v1/me", headers=headers).json["organizations"]
    assert client.post(f"/api/v1/invitations/{token}/accept", headers=headers).json["error"]["code"] == "token_used"
    used = client.post(url, json={"token": token}, headers=headers)
    assert used.status_code == 409 and used.json["error"]["code"] == "token_used"
    assert used.json["error"]["message"] == "Бұл сілтеме бұрын пайдаланылған."


# --- 8. awards and letters -----------------------------------------------------------------------


def test_manager_creates_awards_and_issues_letters_through_the_api(client, stage):  # noqa: F811
    from grants.calls.models import Call
    from grants.reviews import services

    call = db.session.get(Call, stage.call.id)
    for app in stage.apps:
        services.set_eligibility(stage.manager, app, eligible=True, reason="")
    services.auto_assign(stage.manager, call)
    score_all(stage, lambda a: {"relevance": 9, "feasibility": 9, "impact": 5})
    db.session.commit()
    boss = token_for(client, stage.manager.email)
    lead = token_for(client, stage.leads[0].email)
    url = f"/api/v1/calls/{call.id}/awards"
    assert client.post(url, headers=lead).status_code == 404
    assert client.post(url).status_code == 401
    assert client.post(url, headers=boss).json["items"] == []  # no decisions yet: nothing to create
    services.decide(stage.manager, call, apply_selection=True)
    db.session.commit()

    made = client.post(url, headers=boss)
    assert made.status_code == 201, made.json
    awards = made.json["items"]
    assert len(awards) == 3 and all(a["letter"] is None for a in awards)
    assert client.post(url, headers=boss).json["items"] == []  # each decision once

    award = awards[0]
    letter = f"/api/v1/awards/{award['id']}/letter"
    assert client.post(letter, json={}, headers=lead).status_code == 404
    wrong = client.post(letter, json={"language": "de"}, headers=boss)
    assert wrong.status_code == 422 and "language" in wrong.json["error"]["fields"]
    issued = client.post(letter, json={"language": "ru"}, headers=boss)
    assert issued.status_code == 201, issued.json
    first = issued.json["letter"]
    assert len(first["sha256"]) == 64 and first["verification_code"]
    stale = client.post(letter, json={"seen_version": 0}, headers=boss | {"Accept-Language": "ru"})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale"
    assert "письмо" in stale.json["error"]["message"]
    again = client.post(letter, json={"seen_version": 1, "language": "kk"}, headers=boss)
    assert again.status_code == 201 and again.json["letter"]["verification_code"] != first["verification_code"]
    assert client.get(f"/api/v1/awards/{award['id']}/letter.pdf", headers=lead).status_code == 200


def test_the_new_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, method in [
        ("/api/v1/applications/{app_id}/eligibility", "get"), ("/api/v1/assignments/{assignment_id}/reopen", "post"),
        ("/api/v1/invitations/accept", "post"), ("/api/v1/invitations/{token}/accept", "post"), ("/api/v1/calls/{call_id}/awards", "post"),
        ("/api/v1/awards/{award_id}/letter", "post"), ("/api/v1/applications/{app_id}/appeals", "post"),
        ("/api/v1/appeals/{appeal_id}/answer", "post"), ("/api/v1/reports/{report_id}/review", "post"),
    ]:  # fmt: skip
        assert method in paths[path], (path, method)
    assert "application/json" in paths["/api/v1/assignments/{assignment_id}/reopen"]["post"]["requestBody"]["content"]
    [token] = paths["/api/v1/invitations/{token}/accept"]["post"]["parameters"]
    assert token["schema"] == {"type": "string"}
