import hashlib
import io
import re
from datetime import timedelta

import pytest
from conftest import PASSWORD, api_login, login, post_form, read_outbox

from applications.conftest import complete
from grants.applications import services
from grants.applications.models import AccessLogEntry, Application, BudgetLine, Submission
from grants.core.errors import Conflict, Forbidden, ValidationFailed
from grants.extensions import db


def test_blank_draft_lists_every_missing_section(world):
    sections = {section for section, _message in services.problems(world.app)}
    assert sections == {"summary", "problem", "workplan", "budget", "indicators", "partners", "declarations"}


def test_complete_application_has_no_problems_and_totals_are_computed_on_the_server(ready):
    assert services.problems(ready.app) == []
    assert ready.app.budget_total == 2_000_000
    assert [line.total for line in ready.app.budget_lines] == [1_000_000, 1_000_000]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"budget_lines": [{"category": "events", "description": "x", "organization_id": 1, "quantity": "-2",
                            "unit_cost": 5}]}, "budget_lines.0.quantity"),
        ({"budget_lines": [{"category": "events", "description": "x", "organization_id": 99999, "quantity": "1",
                            "unit_cost": 5}]}, "budget_lines.0.organization_id"),
        ({"workplan": [{"activity": "x", "start_month": 5, "end_month": 2}]}, "workplan.0.end_month"),
        ({"requested_amount": "много"}, "requested_amount"),
        ({"title": "x" * 301}, "title"),
    ],
)  # fmt: skip
def test_bad_rows_are_refused_and_nothing_is_half_saved(ready, change, field):
    version = ready.app.version
    with pytest.raises(ValidationFailed) as refused:
        services.save(ready.lead_user, ready.app, {"title": "Changed"} | change, version=version)
    assert field in refused.value.fields
    db.session.rollback()
    app = db.session.get(Application, ready.app.id)
    assert app.title == "Таза Арал" and app.version == version
    assert db.session.execute(db.select(db.func.count(BudgetLine.id))).scalar_one() == 2


def test_a_stale_save_is_refused_with_both_texts(ready):
    seen = ready.app.version
    services.save(ready.partner_user, ready.app, {"summary": "Partner's newer text"}, version=seen)
    with pytest.raises(Conflict) as refused:
        services.save(ready.lead_user, ready.app, {"summary": "Lead's older edit"}, version=seen)
    assert refused.value.code == "stale_version"
    assert refused.value.extra["current"] == {"summary": "Partner's newer text"}
    assert refused.value.extra["yours"] == {"summary": "Lead's older edit"}
    db.session.rollback()
    assert db.session.get(Application, ready.app.id).summary == "Partner's newer text"


def test_submission_freezes_a_canonical_snapshot_and_emails_the_receipt(app, ready):
    submission = services.submit(ready.lead_user, ready.app)
    assert submission.receipt_number == "SG-2027-1-0001"
    assert hashlib.sha256(submission.snapshot.encode()).hexdigest() == submission.sha256
    assert submission.snapshot == services.canonical(services.snapshot(ready.app))
    assert '"budget_lines"' in submission.snapshot and "Таза Арал" in submission.snapshot  # UTF-8, not escaped
    mails = {m["To"]: m for m in read_outbox(app) if "SG-2027-1-0001" in m["Subject"]}
    assert set(mails) == {"lead@example.kz", "partner@example.kz"}  # the receipt, and the partner told
    receipt = mails["lead@example.kz"]
    assert submission.sha256 in receipt.get_body(preferencelist=("plain",)).get_content()
    with pytest.raises(Conflict):
        services.save(ready.lead_user, ready.app, {"title": "After"}, version=ready.app.version)


def test_submit_one_second_after_the_deadline_is_refused_with_the_deadline(ready, frozen):
    frozen.to(ready.call.closes_at + timedelta(seconds=1))
    with pytest.raises(Conflict) as refused:
        services.submit(ready.lead_user, ready.app)
    assert refused.value.code == "deadline_passed"
    assert "UTC+5" in refused.value.message
    db.session.rollback()
    assert db.session.get(Application, ready.app.id).status == "draft"


def test_submit_at_the_last_second_is_accepted(ready, frozen):
    frozen.to(ready.call.closes_at - timedelta(seconds=1))
    assert services.submit(ready.lead_user, ready.app).receipt_number


def test_a_partner_cannot_submit_for_the_lead(ready):
    with pytest.raises(Forbidden):
        services.submit(ready.partner_user, ready.app)


def test_unconfirmed_partner_blocks_submission(world, frozen):
    from grants.consortia import services as consortia

    consortia.respond(world.partner_user, world.consortium, organization_id=world.partner_org.id, accept=False)
    services.save(world.lead_user, world.app, complete(world), version=world.app.version)
    with pytest.raises(ValidationFailed) as refused:
        services.submit(world.lead_user, world.app)
    assert "partners" in refused.value.fields


def test_withdraw_and_resubmit_keep_every_version(ready, frozen):
    first = services.submit(ready.lead_user, ready.app)
    services.withdraw(ready.lead_user, ready.app)
    services.save(ready.lead_user, ready.app, {"summary": "Жаңартылған"}, version=ready.app.version)
    second = services.submit(ready.lead_user, ready.app)
    assert second.receipt_number == "SG-2027-1-0001-v2" and second.sha256 != first.sha256
    versions = db.session.execute(db.select(Submission).order_by(Submission.version)).scalars().all()
    assert [v.withdrawn_at is not None for v in versions] == [True, False]
    frozen.to(ready.call.closes_at)
    with pytest.raises(Conflict):
        services.withdraw(ready.lead_user, ready.app)


def test_another_ngo_gets_404_for_the_application_its_attachments_and_pdf(app, ready, client):
    pdf = b"%PDF-1.4\n%%EOF\n"
    from werkzeug.datastructures import FileStorage

    attachment = services.add_attachment(ready.lead_user, ready.app, FileStorage(io.BytesIO(pdf), filename="a.pdf"))
    login(client, "other@example.kz")
    base = f"/applications/{ready.app.id}"
    for path in (base, f"{base}/edit/summary", f"{base}/attachments/{attachment.id}", f"{base}/application.pdf",
                 f"{base}/receipt.pdf", f"{base}/access-log", f"{base}/check"):  # fmt: skip
        assert client.get(path).status_code == 404, path
    token = api_login(client, "other@example.kz", PASSWORD).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", f"/api/v1{base}"), ("PATCH", f"/api/v1{base}"), ("POST", f"/api/v1{base}/submit"),
                         ("GET", f"/api/v1{base}/access-log"), ("POST", f"/api/v1{base}/attachments")):  # fmt: skip
        response = client.open(path, method=method, headers=headers, json={} if method != "GET" else None)
        assert response.status_code == 404, (method, path)
    assert client.get("/api/v1/applications", headers=headers).json["total"] == 0


def test_attachments_are_checked_by_content_and_size(ready):
    from werkzeug.datastructures import FileStorage

    from grants.core.errors import PayloadTooLarge, UnsupportedMediaType

    with pytest.raises(UnsupportedMediaType):
        services.add_attachment(ready.lead_user, ready.app, FileStorage(io.BytesIO(b"MZ\x90\x00"), filename="x.pdf"))
    db.session.rollback()
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1 - 9)
    with pytest.raises(PayloadTooLarge):
        services.add_attachment(ready.lead_user, ready.app, FileStorage(io.BytesIO(big), filename="big.pdf"))
    db.session.rollback()
    ok = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 - 9)
    attachment = services.add_attachment(ready.lead_user, ready.app, FileStorage(io.BytesIO(ok), filename="ok.pdf"))
    assert attachment.size == 10 * 1024 * 1024 and len(attachment.sha256) == 64


def test_sealed_application_opens_for_a_manager_only_with_a_reason_and_the_lead_sees_it(app, ready, client):
    services.submit(ready.lead_user, ready.app)
    login(client, "manager@example.kz")
    asked = client.get(f"/applications/{ready.app.id}")  # the form asking for a reason, nothing of the application
    assert asked.status_code == 200 and 'name="reason"' in asked.get_data(as_text=True)
    assert "Таза Арал" not in asked.get_data(as_text=True)
    empty = post_form(client, f"/applications/{ready.app.id}", {"reason": " "}, form_url="/account")
    assert empty.status_code == 422 and "Таза Арал" not in empty.get_data(as_text=True)
    opened = post_form(client, f"/applications/{ready.app.id}", {"reason": "Жалоба о дублировании"},
                       form_url="/account")  # fmt: skip
    assert opened.status_code == 200 and "Таза Арал" in opened.get_data(as_text=True)
    [entry] = db.session.execute(db.select(AccessLogEntry)).scalars().all()
    assert entry.sealed_reason == "Жалоба о дублировании" and entry.viewer_role == "manager"
    lead = app.test_client()
    login(lead, "lead@example.kz")
    log = lead.get(f"/applications/{ready.app.id}/access-log").get_data(as_text=True)
    assert "manager@example.kz".split("@")[0] in log and "Жалоба о дублировании" in log


def test_draft_is_invisible_to_managers(app, world, client):
    login(client, "manager@example.kz")
    assert client.get(f"/applications/{world.app.id}").status_code == 404


def test_html_in_text_fields_is_rendered_inert(app, ready, client):
    services.save(
        ready.lead_user, ready.app, {"summary": "<script>alert(1)</script><b>x</b>"}, version=ready.app.version
    )
    login(client, "lead@example.kz")
    html = client.get(f"/applications/{ready.app.id}/edit/summary").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_section_form_saves_rows_and_adds_rows_without_javascript(app, world, client):
    login(client, "lead@example.kz")
    page = f"/applications/{world.app.id}/edit/indicators"
    html = client.get(page).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    added = post_form(client, page, {"version": version, "indicators-0-name": "Еріктілер", "action": "add_row"})
    assert 'name="indicators-1-name"' in added.get_data(as_text=True)
    saved = post_form(client, page, {"version": version, "indicators-0-name": "Еріктілер", "indicators-0-unit": "адам",
                                     "indicators-0-baseline": "0", "indicators-0-target": "40", "action": "save"})  # fmt: skip
    assert saved.status_code == 302
    stale = post_form(client, page, {"version": version, "indicators-0-name": "Ескі", "indicators-0-unit": "адам",
                                     "indicators-0-target": "1", "action": "save"})  # fmt: skip
    assert stale.status_code == 409 and "Еріктілер" in stale.get_data(as_text=True)
    autosaved = post_form(client, page, {"version": str(int(version) + 1), "indicators-0-name": "Жаңа",
                                         "indicators-0-unit": "адам", "indicators-0-target": "5"},
                          headers={"X-Autosave": "1"})  # fmt: skip
    assert autosaved.status_code == 200 and autosaved.json["version"] == int(version) + 2


def test_api_flow_consortium_application_submit(app, world, client):
    def token(email):
        return {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={"email": email,
                                                                                     "password": PASSWORD}).json["token"]}  # fmt: skip

    lead, partner = token("lead@example.kz"), token("partner@example.kz")
    created = client.post("/api/v1/consortia", json={"name": "Екінші", "lead_organization_id": world.lead_org.id,
                                                     "partner_organization_ids": [world.partner_org.id]}, headers=lead)  # fmt: skip
    assert created.status_code == 201 and created.json["members"][1]["confirmed"] is False
    cid = created.json["id"]
    assert client.post(f"/api/v1/consortia/{cid}/confirm", json={"organization_id": world.partner_org.id},
                       headers=lead).status_code == 403  # fmt: skip
    confirmed = client.post(f"/api/v1/consortia/{cid}/confirm", json={"organization_id": world.partner_org.id},
                            headers=partner)  # fmt: skip
    assert confirmed.json["members"][1]["confirmed"] is True
    body = complete(world) | {"consortium_id": cid}
    made = client.post(f"/api/v1/calls/{world.call.id}/applications", json=body, headers=lead)
    assert made.status_code == 201 and made.json["status"] == "draft" and made.json["budget_total"] == 2_000_000
    aid = made.json["id"]
    stale = client.patch(f"/api/v1/applications/{aid}", json={"title": "x", "version": 0}, headers=lead)
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale_version"
    assert client.post(f"/api/v1/applications/{aid}/submit", headers=partner).status_code == 403
    submitted = client.post(f"/api/v1/applications/{aid}/submit", headers=lead)
    assert submitted.status_code == 200 and submitted.json["receipt_number"] == "SG-2027-1-0001"
    fetched = client.get(f"/api/v1/applications/{aid}", headers=lead).json
    assert fetched["sha256"] == submitted.json["sha256"]
    upload = client.post(f"/api/v1/applications/{aid}/attachments", headers=lead,
                         data={"file": (io.BytesIO(b"PK\x03\x04junk"), "x.docx")}, content_type="multipart/form-data")  # fmt: skip
    assert upload.status_code == 409  # frozen after submission


def test_writing_help_is_editable_per_call_and_language(app, world, client):
    login(client, "manager@example.kz")
    response = post_form(client, f"/manage/calls/{world.call.id}/help",
                         {"budget-kk-howto": "Әр шығынды бөлек жолға жазыңыз.", "budget-kk-example": "Мысалы: 2 × 500 000 ₸"})  # fmt: skip
    assert response.status_code == 302
    lead = app.test_client()
    login(lead, "lead@example.kz")  # the lead reads Kazakh
    html = lead.get(f"/applications/{world.app.id}/edit/budget").get_data(as_text=True)
    assert "Әр шығынды бөлек жолға жазыңыз." in html
    other = lead.get(f"/applications/{world.app.id}/edit/summary").get_data(as_text=True)
    assert "Әр шығынды" not in other  # other sections keep the programme's default


def test_a_consortium_may_send_several_applications_to_one_call(world):
    second = services.create(world.lead_user, world.call, world.consortium)
    assert second.id != world.app.id and second.consortium_id == world.app.consortium_id


def test_the_submitted_view_shows_the_partners_roles_to_the_consortium(ready, frozen, client):
    """A required section is read back on the applicant's own submitted view (phone walkthrough B13)."""
    services.submit(ready.lead_user, ready.app)
    login(client, ready.partner_user.email)
    page = client.get(f"/applications/{ready.app.id}").get_data(as_text=True)
    assert "Жас Дала" in page and "Еріктілерді оқытады" in page
