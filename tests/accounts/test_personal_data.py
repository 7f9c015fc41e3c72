"""Personal data rights (issue 14): download my data, delete my account (anonymised, what was
submitted kept and verifiable), refusals, and the retention job over time."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from awards.conftest import awarded  # noqa: F401
from conftest import PASSWORD, login, post_form
from reviews.conftest import score_all, stage  # noqa: F401
from werkzeug.datastructures import FileStorage

from grants.accounts import personal_data, services
from grants.accounts.models import ApiToken, User, UserSession
from grants.applications.models import Attachment, Submission
from grants.audit.models import AuditEvent
from grants.awards import issuing
from grants.channels.models import TelegramLink
from grants.core import uploads
from grants.extensions import db
from grants.organizations.models import Membership
from grants.reviews import services as reviews
from grants.reviews.models import Decision
from grants.subscriptions.models import Subscription

PDF = b"%PDF-1.4\n% my budget\n"


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    assert "no-store" in response.headers["Cache-Control"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def token_for(user) -> dict:
    token = services.issue_api_token(user, second_factor=True)[0]  # as if asked with the TOTP code
    return {"Authorization": f"Bearer {token}"}


# --- download my data -------------------------------------------------------------------------


def test_my_data_zip_has_account_organizations_applications_messages_sessions_and_my_files(stage, client):  # noqa: F811
    lead = stage.leads[0]
    app_ = stage.apps[0]
    stored = uploads.store(FileStorage(io.BytesIO(PDF), filename="Бюджет.pdf", content_type="application/pdf"))
    attachment = Attachment(application_id=app_.id, path=stored.path, filename=stored.filename, size=stored.size,
                            sha256=stored.sha256, content_type=stored.content_type)  # fmt: skip
    db.session.add(attachment)
    db.session.commit()
    login(client, lead.email)

    archive = _zip(client.get("/account/data/export"))
    disposition = client.get("/account/data/export").headers["Content-Disposition"]
    assert "attachment" in disposition and "grants-my-data-2027-03-" in disposition

    data = json.loads(archive.read("data.json"))
    assert data["account"]["email"] == "lead0@example.kz" and "password_hash" not in data["account"]
    assert [o["name"] for o in data["organizations"]] == ["Lead 0"]
    assert data["memberships"][0]["role"] == "owner"
    [mine] = data["applications"]
    assert mine["title"] == app_.title and mine["summary"] and mine["written_by_you"]
    receipt = db.session.scalars(db.select(Submission).filter_by(application_id=app_.id)).first()
    assert mine["submissions"][0]["receipt_number"] == receipt.receipt_number
    assert mine["submissions"][0]["sha256"] == receipt.sha256
    assert any(m["kind"] == "application_receipt" for m in data["messages"])
    assert data["sessions"] and "token_hash" not in data["sessions"][0]
    assert any(e["action"] == "user.created" for e in data["audit_events"])
    # Nothing of the other consortia.
    assert {a["id"] for a in data["applications"]} == {app_.id}
    assert archive.read(f"files/applications/{app_.id}/{attachment.id}-Бюджет.pdf") == PDF


def test_the_export_holds_nothing_the_person_may_no_longer_read_nor_who_else_acted(stage):  # noqa: F811
    """Found by review: someone who left the lead organization (or a partner that declined) still
    downloaded the consortium's current texts and files, and the audit events about them named the
    admin who acted and the address a stranger registered from."""
    lead, app_ = stage.leads[0], stage.apps[0]
    stored = uploads.store(FileStorage(io.BytesIO(PDF), filename="Бюджет.pdf", content_type="application/pdf"))
    db.session.add(Attachment(application_id=app_.id, path=stored.path, filename=stored.filename, size=stored.size,
                              sha256=stored.sha256, content_type=stored.content_type))  # fmt: skip
    db.session.add(AuditEvent(actor_id=stage.manager.id, action="user.roles_changed", object_type="user",
                              object_id=lead.id, ip="203.0.113.9"))  # fmt: skip
    db.session.execute(db.delete(Membership).where(Membership.user_id == lead.id))
    db.session.commit()

    data = personal_data.export_data(lead)
    [left] = data["applications"]
    assert left["member_now"] is False and left["written_by_you"] and left["submissions"]
    assert "title" not in left and "summary" not in left and "budget_lines" not in left
    [by_admin] = [e for e in data["audit_events"] if e["action"] == "user.roles_changed"]
    assert by_admin["ip"] is None and by_admin["actor_id"] is None and by_admin["by_someone_else"]
    assert personal_data.uploaded_files(lead) == []


def test_a_reviewers_export_has_the_reviews_they_wrote_and_the_api_gives_the_same_zip(stage, client):  # noqa: F811
    for application in stage.apps:
        reviews.set_eligibility(stage.manager, application, eligible=True, reason="")
    reviews.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 8, "feasibility": 7, "impact": 4})
    reviewer = next(r for r in stage.reviewers if r.id != stage.reviewers[0].id)
    headers = token_for(reviewer)
    db.session.commit()
    archive = _zip(client.get("/api/v1/me/export", headers=headers))
    data = json.loads(archive.read("data.json"))
    assert data["reviews"] and all(r["review"]["scores"]["relevance"] == 8 for r in data["reviews"])
    assert data["applications"] == []  # reviewed, not written: the applications themselves are not theirs
    assert client.get("/api/v1/me/export").status_code == 401


# --- delete my account ------------------------------------------------------------------------


def test_deleting_anonymises_the_person_and_the_receipt_and_the_letter_still_verify(awarded, app, client, users):  # noqa: F811
    world, awards = awarded
    lead, app_ = world.leads[0], world.apps[0]
    colleague = services.create_user(email="colleague@example.kz", password=PASSWORD, name="Колле́га", roles={"applicant"},
                                     verified=True)  # fmt: skip
    db.session.add(
        Membership(user_id=colleague.id, organization_id=app_.consortium.lead_organization_id, role="editor")
    )
    db.session.add(TelegramLink(user_id=lead.id, chat_id=777, username="lead0"))
    db.session.add(Subscription(email=lead.email, language="kk"))
    db.session.commit()
    award = next(a for a in awards if a.application_id == app_.id)
    letter = issuing.issue_letter(world.manager, award, "ru")
    db.session.commit()
    api = token_for(lead)
    db.session.commit()
    login(client, lead.email)

    response = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=api)
    assert response.status_code == 204, response.get_data(as_text=True)

    db.session.expire_all()
    gone = db.session.get(User, lead.id)
    assert gone.name == f"Deleted user #{lead.id}"
    assert gone.email == f"deleted-user-{lead.id}@deleted.invalid"
    assert gone.anonymised_at is not None and not gone.is_active
    assert not services.password_matches(gone, PASSWORD)
    for model in (UserSession, ApiToken, TelegramLink, Membership):
        assert db.session.scalars(db.select(model).filter_by(user_id=lead.id)).all() == []
    assert db.session.scalars(db.select(Subscription).filter_by(email="lead0@example.kz")).all() == []
    assert client.get("/account").status_code == 302  # this browser is signed out
    assert client.get("/api/v1/me", headers=api).status_code == 401
    assert post_form(client, "/login", {"email": "lead0@example.kz", "password": PASSWORD}).status_code == 401
    # What was submitted stays, with its author, and its SHA-256 still matches.
    for receipt in db.session.scalars(db.select(Submission).filter_by(application_id=app_.id)):
        assert hashlib.sha256(receipt.snapshot.encode()).hexdigest() == receipt.sha256
        assert receipt.submitted_by_id == lead.id
    login(client, "colleague@example.kz")
    pdf = client.get(f"/applications/{app_.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    page = client.get(f"/verify/{letter.verification_code}")
    assert page.status_code == 200 and letter.sha256 in page.get_data(as_text=True)
    assert hashlib.sha256(issuing.letter_bytes(letter)).hexdigest() == letter.sha256
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="user.anonymised", object_id=lead.id)).one()
    assert event.after == {"reason": "deleted_by_user"} and "lead0@example.kz" not in json.dumps(event.after)
    # Nobody brings the account back nor gives it a new address (found by review).
    from grants.accounts import admin_services
    from grants.core.errors import Conflict

    admin = users("admin@example.kz", role="admin")
    gone = db.session.get(User, lead.id)
    for act in (lambda: admin_services.enable(admin, gone),
                lambda: admin_services.request_email_change(admin, gone, "new@example.kz")):  # fmt: skip
        with pytest.raises(Conflict):
            act()
        db.session.rollback()


def test_deleting_on_the_account_page_in_kazakh_asks_for_the_password(app, client, users):
    users("aigul@example.kz", locale="kk")
    db.session.commit()
    login(client, "aigul@example.kz")
    client.set_cookie("lang", "kk")
    account = client.get("/account").get_data(as_text=True)
    assert "Деректерімді жүктеп алу" in account and 'href="/account/delete"' in account
    page = client.get("/account/delete").get_data(as_text=True)
    assert "Бұл әрекетті кері қайтару мүмкін емес" in page
    wrong = post_form(client, "/account/delete", {"password": "not-my-password-1"})
    assert wrong.status_code == 422 and "Құпиясөз қате" in wrong.get_data(as_text=True)
    assert db.session.scalars(db.select(User).filter_by(email="aigul@example.kz")).one().anonymised_at is None
    done = post_form(client, "/account/delete", {"password": PASSWORD})
    assert done.status_code == 302
    assert "Тіркелгіңіз жойылды" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(db.select(User).filter_by(email="aigul@example.kz")).all() == []


def test_the_last_member_of_a_funded_organization_is_refused_in_russian_and_kazakh(awarded, client):  # noqa: F811
    world, _awards = awarded
    partner = db.session.scalars(db.select(User).filter_by(email="partner0@example.kz")).one()
    partner.locale = "kk"  # the pages follow the signed-in person's language
    headers = token_for(partner)
    db.session.commit()
    ru = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers | {"Accept-Language": "ru"})
    assert ru.status_code == 409
    assert ru.json["error"]["code"] == "last_member_of_funded_organization"
    assert "последний участник" in ru.json["error"]["message"] and "Partner 0" in ru.json["error"]["message"]
    login(client, "partner0@example.kz")
    page = client.get("/account/delete").get_data(as_text=True)
    assert "соңғы мүшесісіз" in page and "Partner 0" in page
    refused = post_form(client, "/account/delete", {"password": PASSWORD})
    assert refused.status_code == 409
    db.session.expire_all()
    assert db.session.get(User, partner.id).anonymised_at is None


def test_the_only_administrator_is_refused_and_a_wrong_password_is_422(app, client, users):
    admin = users("admin@example.kz", role="admin")
    headers = token_for(admin)
    db.session.commit()
    wrong = client.delete("/api/v1/me", json={"password": "nope"}, headers=headers | {"Accept-Language": "kk"})
    assert wrong.status_code == 422 and wrong.json["error"]["fields"]["password"]
    bad_type = client.delete("/api/v1/me", json={"password": ["x"]}, headers=headers)
    assert bad_type.status_code == 422
    alone = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers | {"Accept-Language": "ru"})
    assert alone.status_code == 409 and alone.json["error"]["code"] == "last_admin"
    assert "единственный администратор" in alone.json["error"]["message"]
    users("second-admin@example.kz", role="admin")
    db.session.commit()
    assert client.delete("/api/v1/me", json={"password": PASSWORD}, headers=headers).status_code == 204


# --- retention --------------------------------------------------------------------------------


@pytest.fixture
def decided(stage, frozen):  # noqa: F811
    """Application 0 funded, 1 and 2 rejected; the call decided now."""
    from grants.awards import services as awards

    for n, application in enumerate(stage.apps):
        outcome = "award" if n == 0 else "reject"
        db.session.add(Decision(application_id=application.id, outcome=outcome, decided_by_id=stage.manager.id))
        application.status = "awarded" if n == 0 else "rejected"
    stage.call.decided_at = frozen.moment
    db.session.commit()
    awards.create_from_decisions(stage.manager, stage.call)
    db.session.commit()
    return stage


def test_retention_anonymises_authors_of_unfunded_applications_after_the_configured_years(decided, app, frozen):
    world = decided
    runner = app.test_cli_runner()
    decided_at = frozen.moment
    four_years = (decided_at + timedelta(days=4 * 365)).isoformat()
    assert (
        "0 people would be anonymised"
        in runner.invoke(args=["retention", "run", "--dry-run", "--at", four_years]).output
    )

    later = (decided_at + timedelta(days=6 * 365)).isoformat()
    dry = runner.invoke(args=["retention", "run", "--dry-run", "--at", later])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert f"user {world.leads[1].id}: applications {world.apps[1].id}" in lines
    assert f"user {world.leads[2].id}: applications {world.apps[2].id}" in lines
    assert not any(line.startswith(f"user {world.leads[0].id}:") for line in lines)  # funded: kept
    assert "2 people would be anonymised" in dry.output
    db.session.expire_all()
    assert db.session.get(User, world.leads[1].id).anonymised_at is None  # a dry run changes nothing

    frozen.to(decided_at + timedelta(days=6 * 365))
    assert len(personal_data.run_retention().people) == 2  # RETENTION_YEARS = 5 by default, the clock's now
    db.session.expire_all()
    assert db.session.get(User, world.leads[1].id).name == f"Deleted user #{world.leads[1].id}"
    assert db.session.get(User, world.leads[0].id).anonymised_at is None
    receipt = db.session.scalars(db.select(Submission).filter_by(application_id=world.apps[1].id)).first()
    assert hashlib.sha256(receipt.snapshot.encode()).hexdigest() == receipt.sha256
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.action.in_(["user.anonymised", "retention.run"]))
    )
    assert sorted(actions) == ["retention.run", "user.anonymised", "user.anonymised"]
    again = runner.invoke(args=["retention", "run", "--at", later])
    assert "0 people anonymised" in again.output


def test_retention_keeps_people_who_signed_in_since_and_honours_the_setting(decided, app, frozen):
    world = decided
    lead = db.session.get(User, world.leads[1].id)
    if hasattr(User, "last_login_at"):
        lead.last_login_at = frozen.moment + timedelta(days=3 * 365)
        db.session.commit()
    later = frozen.moment + timedelta(days=6 * 365)
    people = {uid for uid, _apps in personal_data.run_retention(later, dry_run=True).people}
    assert world.leads[2].id in people
    assert (world.leads[1].id in people) is not hasattr(User, "last_login_at")
    app.config["RETENTION_YEARS"] = 10
    assert personal_data.run_retention(later, dry_run=True).people == []


def test_two_last_administrators_leaving_at_once_leave_one_behind(make_app, pg_database, live_server):
    from conftest import _truncate_pg
    from parallel import api_token, fire

    _truncate_pg(pg_database)
    app = make_app(pg_database)
    with app.app_context():
        admins = [services.create_user(email=f"admin{n}@example.kz", password=PASSWORD, name=f"Admin {n}",
                                       roles={"admin"}, verified=True) for n in range(2)]  # fmt: skip
        db.session.commit()
    tokens = [api_token(app, admin) for admin in admins]
    results = fire(live_server(app), [("DELETE", "/api/v1/me", token, {"password": PASSWORD}) for token in tokens])
    assert sorted(r.status for r in results) == [204, 409], [(r.status, r.body) for r in results]
    assert [r.code for r in results if r.status == 409] == ["last_admin"]
    with app.app_context():
        left = db.session.scalars(db.select(User).where(User.anonymised_at.is_(None))).all()
        assert len(left) == 1 and left[0].is_admin


def test_the_account_page_offers_both_in_russian_and_exports_are_limited_per_person(app, client, users):
    users("a@example.kz", locale="ru")
    db.session.commit()
    login(client, "a@example.kz")
    page = client.get("/account").get_data(as_text=True)
    assert "Скачать мои данные" in page and "Удалить мою учётную запись" in page
    assert "Поданные заявки и подтверждения о получении сохраняются без вашего имени" in page
    assert [client.get("/account/data/export").status_code for _ in range(10)] == [200] * 10
    assert client.get("/account/data/export").status_code == 429
