"""The access matrix: every route of the URL map (pages and API) × every role → the status it
answers, with real ids. A route without an entry in the table fails the test, so a new page
cannot ship without saying who may open it. Objects a user may not see answer 404.

The world is built once per module on PostgreSQL through the real services. Each role then opens
every GET route, and sends every write it may not make (pages with a valid CSRF token, the API
with a valid body): each must be refused (404/403, anonymous: 302 to the log-in page or 401)
without changing a row. Writes by the roles that may make them are covered by the GET of their
form page (pages) or by the API tests."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.core import clock

PASSWORD = "correct-horse-42"


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


PDF = _blank_pdf()
ROLES = ("anonymous", "stranger", "lead", "partner", "reviewer", "other_reviewer", "manager", "admin")
# stranger: an applicant who owns nothing; lead: a member of the lead organization; partner: a
# member of the partner organization; reviewer: assigned to the application; other_reviewer: a
# reviewer who is not.


def email(role: str) -> str:
    return f"{role}@example.kz"


def _pdf(name: str = "file.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(PDF), filename=name, content_type="application/pdf")


def _user(role: str, roles: set[str]):
    from grants.accounts import services
    from grants.accounts.models import Role

    return services.create_user(email=email(role), password=PASSWORD, name=role, roles={Role(r) for r in roles},
                                verified=True, locale="ru")  # fmt: skip


def build(app, travel, now) -> dict:
    """Every object a route of the URL map needs; returns {name: id or path value}."""
    from conftest import call_data, org_data

    from grants.alerts.models import Notification
    from grants.applications import services as applications
    from grants.awards import services as awards
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.extensions import db
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin
    from grants.reviews import services as reviews
    from grants.reviews.models import Assignment

    users = {
        "stranger": _user("stranger", {"applicant"}),
        "lead": _user("lead", {"applicant"}),
        "partner": _user("partner", {"applicant"}),
        "reviewer": _user("reviewer", {"reviewer"}),
        "manager": _user("manager", {"manager"}),
        "admin": _user("admin", {"admin"}),
    }
    manager, lead, partner = users["manager"], users["lead"], users["partner"]
    lead_org = organizations.create(lead, org_data(name="Арал ҮЕҰ", bin=complete_bin("20054000777"), women_led="y"),
                                    _pdf("evidence.pdf"))  # fmt: skip
    partner_org = organizations.create(partner, org_data(name="Жас Дала", bin=complete_bin("21054000888")))
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)

    window = {"opens_at": (now - timedelta(days=1)).isoformat(), "closes_at": (now + timedelta(days=30)).isoformat()}
    decided = calls.create(manager, call_data(code="DECIDED", reviewers_per_application=1, **window), _pdf("g.pdf"))
    calls.publish(manager, decided)
    open_call = calls.create(manager, call_data(code="OPEN", opens_at=window["opens_at"],
                                                closes_at=(now + timedelta(days=120)).isoformat()), _pdf("g.pdf"))  # fmt: skip
    calls.publish(manager, open_call)
    draft_call = calls.create(manager, call_data(code="DRAFT"))

    from applications.conftest import complete

    class Parties:
        pass

    Parties.lead_org, Parties.partner_org = lead_org, partner_org
    awarded = applications.create(lead, decided, consortium)
    applications.save(lead, awarded, complete(Parties), version=awarded.version)
    attachment = applications.add_attachment(lead, awarded, _pdf("budget.pdf"), "other")
    applications.submit(lead, awarded)
    draft_app = applications.create(lead, open_call, consortium)
    draft_attachment = applications.add_attachment(lead, draft_app, _pdf("draft.pdf"), "other")

    travel.to(now + timedelta(days=31))  # the decided call has closed
    reviews.set_eligibility(manager, awarded, eligible=True, reason="Все условия соблюдены")
    reviews.auto_assign(manager, decided)
    assignment = db.session.execute(db.select(Assignment).filter_by(application_id=awarded.id)).scalar_one()
    assert assignment.reviewer_id == users["reviewer"].id
    reviewer = users["reviewer"]
    reviews.declare(reviewer, assignment, conflict=False)
    full = {c.key: c.max_score for c in decided.criteria}
    reviews.save_review(reviewer, assignment, scores=full, comments={k: "Жақсы" for k in full},
                        overall_comment="Жақсы жоба", submit=True)  # fmt: skip
    reviews.decide(manager, decided, apply_selection=True)
    users["other_reviewer"] = _user("other_reviewer", {"reviewer"})  # after the assignment: never assigned
    [award] = awards.create_from_decisions(manager, decided)
    letter = awards.issue_letter(manager, award, "ru")
    appeal = reviews.appeal(lead, awarded, "Біз келіспейміз: бюджет дұрыс есептелген.")
    from grants.clarifications import services as clarifications

    clarification = clarifications.ask(manager, awarded, question="Сметаны түсіндіріңіз.",
                                       reply_by=clock.now() + timedelta(days=30))  # fmt: skip
    clarification_reply = clarifications.reply(lead, clarification, text="Түсіндірме", files=[_pdf("хат.pdf")])
    awards.add_report_file(lead, award, "interim", _pdf("photo.pdf"))
    report_file = award.reports[0].files[0]
    note = Notification(key="access-matrix", kind="announcement", object_type="call", object_id=open_call.id,
                        recipient="subscriber@example.kz", status="sent", claimed_at=clock.now())  # fmt: skip
    db.session.add(note)
    db.session.commit()
    outbox = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    assert outbox, "the scenario sends emails (invitations, receipts, the letter)"
    return {
        "users": {role: user.id for role, user in users.items()},
        "org": lead_org.id, "partner_org": partner_org.id, "consortium": consortium.id,
        "call": decided.id, "open_call": open_call.id, "draft_call": draft_call.id,
        "app": awarded.id, "draft_app": draft_app.id, "attachment": attachment.id,
        "draft_attachment": draft_attachment.id, "assignment": assignment.id, "award": award.id,
        "code": letter.verification_code, "report_file": report_file.id, "note": note.id, "appeal": appeal.id, "outbox": outbox[0].name,
        "clarification": clarification.id, "clarification_file": clarification_reply.files[0].id,
    }  # fmt: skip


# --- expected statuses ---------------------------------------------------------------------------

ALLOWED = "allowed"  # the role may make this write: not sent here (its form page or the API tests cover it)


def _roles(default, anonymous, special: dict) -> dict:
    table = {role: default for role in ROLES} | {"anonymous": anonymous}
    unknown = set(special) - set(ROLES)
    assert not unknown, unknown
    return table | special


def page(default=200, **special) -> dict:
    """A page: anonymous visitors are sent to the log-in page unless said otherwise."""
    return _roles(default, special.pop("anonymous", 302), special)


def api(default=200, **special) -> dict:
    """An API operation: anonymous callers get 401 unless said otherwise."""
    return _roles(default, special.pop("anonymous", 401), special)


def only(*roles, status=200, denied=404, kind=page) -> dict:
    """Only `roles` get `status`; every other signed-in role `denied`."""
    return kind(denied, **{role: status for role in roles})


# Page groups.
PUBLIC = page(200, anonymous=200)
SIGNED_IN = page(200)
MANAGERS = only("manager", "admin")
ADMINS = only("admin")
REVIEWERS = only("reviewer", "other_reviewer")
CONSORTIUM = only("lead", "partner")  # members of the consortium's organizations
LEAD = only("lead")
# Writes: who may send them (ALLOWED) and what the others get.
MANAGER_WRITE = only("manager", "admin", status=ALLOWED)
ADMIN_WRITE = only("admin", status=ALLOWED)
LEAD_WRITE = only("lead", status=ALLOWED)
CONSORTIUM_WRITE = only("lead", "partner", status=ALLOWED)
ASSIGNED_WRITE = only("reviewer", status=ALLOWED)
PUBLIC_FORM = page(ALLOWED, anonymous=ALLOWED)  # log-in, registration, subscriptions: anyone
SIGNED_IN_WRITE = page(ALLOWED)
READERS = only("lead", "partner", "manager", "admin")  # the consortium, and managers once submitted
READERS_WRITE = only("lead", "partner", "manager", "admin", status=ALLOWED)
# API groups.
API_PUBLIC = api(200, anonymous=200)
API_SIGNED_IN = api(200)
API_MANAGERS = only("manager", "admin", kind=api)
API_MANAGER_WRITE = only("manager", "admin", status=ALLOWED, kind=api)
API_CONSORTIUM = only("lead", "partner", "manager", "admin", kind=api)
API_REVIEWER_WRITE = only("reviewer", status=ALLOWED, kind=api)
API_LEAD_WRITE = only("lead", status=ALLOWED, kind=api)


@dataclass
class Route:
    """Expected status per role for each method of one endpoint; `args` names the scenario
    object (or a literal) for each URL parameter that is not the default one."""

    GET: dict | None = None
    POST: dict | None = None
    PATCH: dict | None = None
    PUT: dict | None = None
    DELETE: dict | None = None
    args: dict = field(default_factory=dict)
    body: dict | None = None  # API: a valid body, so access is decided, not validation


# Refusals that answer otherwise than the table says, in routes other engineers are changing right
# now (reported to them). The test accepts exactly these answers (and still checks that nothing
# changed); once a route answers as the table says, its entry here fails the test until removed.
REPORTED: dict[tuple[str, str, str], int] = {
    # (endpoint, method, role) -> a known wrong status, waiting for its fix. Empty: keep it so.
}

# URL parameter -> scenario key (overridden per route by Route.args).
DEFAULT_ARGS = {
    "app_id": "app", "call_id": "call", "org_id": "org", "consortium_id": "consortium", "assignment_id": "assignment",
    "award_id": "award", "attachment_id": "attachment", "file_id": "report_file", "note_id": "note", "code": "code",
    "name": "outbox", "token": "=not-a-valid-token", "kind": "=interim", "fmt": "=csv", "section": "=summary",
    "n": "=1", "filename": "=style.css", "appeal_id": "appeal", "clarification_id": "clarification",
    "report_id": "=1",  # the award's interim report (the module's database restarts its identities)
}  # fmt: skip
DRAFT_APP = {"app_id": "draft_app", "attachment_id": "draft_attachment"}
TOKEN_PROBLEM = 400  # an invalid emailed link: the same answer for everyone

ROUTES: dict[str, Route] = {
    # --- public pages ---
    "static": Route(GET=PUBLIC),
    "public.home": Route(GET=PUBLIC),
    "public.health": Route(GET=PUBLIC),
    "ops.readyz": Route(GET=PUBLIC),  # the embedded broker and the folder storage: ready
    "ops.prometheus_metrics": Route(GET=page(404, anonymous=404)),  # only a token or an allowed network (tests/ops)
    "public.favicon": Route(GET=PUBLIC),
    "offline.service_worker": Route(GET=PUBLIC),
    "offline.offline": Route(GET=PUBLIC),
    "offline.csrf": Route(GET=PUBLIC),
    # the whole form of a new draft: any signed-in person may open it (it says who may apply);
    # the draft itself is made only for a consortium the sender leads
    "offline.draft": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE, args={"call_id": "open_call"}),
    "calls.index": Route(GET=PUBLIC),
    "calls.show": Route(GET=PUBLIC),
    "calls.guideline": Route(GET=PUBLIC),
    "calls.deadline": Route(GET=PUBLIC),
    "calls.deadlines": Route(GET=PUBLIC),
    "calls.feed": Route(GET=PUBLIC),
    "applications.blank_form": Route(GET=PUBLIC, args={"call_id": "open_call"}),
    "reviews.public_results": Route(GET=PUBLIC),
    "reviews.public_results_csv": Route(GET=PUBLIC),
    "awards.verify": Route(GET=PUBLIC),
    "organizations.directory": Route(GET=PUBLIC),
    "subscriptions.subscribe": Route(GET=PUBLIC, POST=PUBLIC_FORM),
    "subscriptions.confirm": Route(GET=page(TOKEN_PROBLEM, anonymous=TOKEN_PROBLEM)),
    "subscriptions.unsubscribe": Route(GET=page(TOKEN_PROBLEM, anonymous=TOKEN_PROBLEM), POST=PUBLIC_FORM),
    # --- accounts ---
    "accounts.login": Route(GET=page(302, anonymous=200), POST=PUBLIC_FORM),
    "accounts.register": Route(GET=page(302, anonymous=200), POST=PUBLIC_FORM),
    "accounts.logout": Route(POST=PUBLIC_FORM),
    "accounts.verify": Route(GET=page(TOKEN_PROBLEM, anonymous=TOKEN_PROBLEM)),
    "accounts.resend_verification": Route(GET=PUBLIC, POST=PUBLIC_FORM),
    "accounts.forgot_password": Route(GET=PUBLIC, POST=PUBLIC_FORM),
    "accounts.reset_password": Route(GET=page(TOKEN_PROBLEM, anonymous=TOKEN_PROBLEM), POST=PUBLIC_FORM),
    "accounts.language": Route(GET=page(302, anonymous=302), args={"code": "=ru"}),
    "accounts.account": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE),
    "accounts.change_password": Route(POST=SIGNED_IN_WRITE),
    # the second login step: without a password given in this browser, back to the log-in page
    "accounts.login_code": Route(GET=page(302, anonymous=302), POST=PUBLIC_FORM),
    "accounts.login_setup": Route(GET=page(302, anonymous=302), POST=PUBLIC_FORM),
    "accounts.end_one_session": Route(POST=SIGNED_IN_WRITE, args={"session_id": "=1"}),
    "accounts.end_others": Route(POST=SIGNED_IN_WRITE),
    "accounts.two_factor_enable": Route(POST=SIGNED_IN_WRITE),
    "accounts.two_factor_disable": Route(POST=SIGNED_IN_WRITE),
    "accounts.recovery_codes": Route(POST=SIGNED_IN_WRITE),
    # the person's own data: download it, delete the account (every signed-in person, for themselves)
    "personal_data.export": Route(GET=SIGNED_IN),
    "personal_data.delete": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE),
    # --- Telegram and SMS channels (the webhook is public, but a wrong secret answers 404) ---
    "channels.channels": Route(GET=SIGNED_IN),
    "channels.telegram_code": Route(POST=SIGNED_IN_WRITE),
    "channels.telegram_unlink": Route(POST=SIGNED_IN_WRITE),
    "channels.phone": Route(POST=SIGNED_IN_WRITE),
    "channels.phone_verify": Route(POST=SIGNED_IN_WRITE),
    "channels.phone_remove": Route(POST=SIGNED_IN_WRITE),
    "channels.choices": Route(POST=SIGNED_IN_WRITE),
    "channels.webhook": Route(POST=page(404, anonymous=404), args={"secret": "=wrong-secret"}),
    "home.home": Route(GET=SIGNED_IN),
    # --- organizations and consortia ---
    "organizations.mine": Route(GET=SIGNED_IN),
    "organizations.new": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE),
    "organizations.show": Route(GET=only("lead", "manager", "admin")),
    "organizations.evidence": Route(GET=only("lead", "manager", "admin")),
    "organizations.edit": Route(GET=LEAD, POST=LEAD_WRITE),
    "organizations.invite": Route(POST=LEAD_WRITE),
    "organizations.accept_invitation": Route(GET=page(TOKEN_PROBLEM), POST=page(TOKEN_PROBLEM)),
    "organizations.manage": Route(GET=MANAGERS),
    "organizations.verify": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "consortia.mine": Route(GET=SIGNED_IN),
    "consortia.new": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE),
    "consortia.show": Route(GET=only("lead", "partner", "manager", "admin")),
    "consortia.respond": Route(POST=only("partner", status=ALLOWED) | {"lead": 403, "manager": 403, "admin": 403}),
    # --- calls (managers) ---
    "calls.manage": Route(GET=MANAGERS),
    "calls.new": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "calls.manage_one": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "calls.change_status": Route(POST=MANAGER_WRITE),
    "calls.copy": Route(POST=MANAGER_WRITE),
    "calls.section_help": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "calls.manage_themes": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    # --- call questions and answers (asked by anyone signed in; pending ones are the managers' own) ---
    "questions.ask": Route(POST=SIGNED_IN_WRITE),
    "questions.manage": Route(GET=MANAGERS),
    # --- broadcasts (managers' messages to a segment) ---
    "broadcasts.index": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "questions.answer": Route(POST=MANAGER_WRITE, args={"question_id": "=1"}),
    "questions.reject": Route(POST=MANAGER_WRITE, args={"question_id": "=1"}),
    # --- applications ---
    "applications.mine": Route(GET=SIGNED_IN),
    "applications.apply": Route(GET=SIGNED_IN, POST=SIGNED_IN_WRITE, args={"call_id": "open_call"}),
    # POST: a manager opening a sealed application gives a reason; the page answers as for GET.
    "applications.show": Route(GET=READERS, POST=READERS_WRITE),
    "applications.section": Route(GET=CONSORTIUM, POST=CONSORTIUM_WRITE, args=DRAFT_APP),
    "applications.check": Route(GET=CONSORTIUM, POST=LEAD_WRITE | {"partner": 403}, args=DRAFT_APP),
    "applications.upload": Route(POST=CONSORTIUM_WRITE, args=DRAFT_APP),
    "applications.delete_attachment": Route(POST=CONSORTIUM_WRITE, args=DRAFT_APP),
    # POST: a sealed application's file, its opening reason posted again.
    "applications.attachment": Route(GET=only("lead", "partner", "manager", "admin"),
                                     POST=only("lead", "partner", "manager", "admin", status=ALLOWED)),
    "applications.withdraw": Route(POST=LEAD_WRITE | {"partner": 403}),
    "applications.access_log": Route(GET=CONSORTIUM),
    "applications.application_pdf": Route(GET=READERS, POST=READERS_WRITE),
    "applications.receipt_pdf": Route(GET=CONSORTIUM),
    # --- reviews ---
    "reviews.mine": Route(GET=REVIEWERS),
    "reviews.profile": Route(GET=REVIEWERS, POST=only("reviewer", "other_reviewer", status=ALLOWED)),
    # The invitation page shows its button whatever the token; the POST checks it.
    "reviews.accept_invitation": Route(GET=page(200), POST=page(TOKEN_PROBLEM)),
    "reviews.review": Route(GET=only("reviewer"), POST=ASSIGNED_WRITE),
    "reviews.declaration": Route(POST=ASSIGNED_WRITE),
    "reviews.review_pdf": Route(GET=only("reviewer")),
    "reviews.review_attachment": Route(GET=only("reviewer")),
    "reviews.pool": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "reviews.stage": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "reviews.ranking": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "reviews.export": Route(GET=MANAGERS),
    "reviews.appeals": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    # clarification requests: managers, the consortium and the assigned reviewer read; the lead answers
    "clarifications.thread": Route(GET=only("lead", "partner", "reviewer", "manager", "admin")),
    "clarifications.ask": Route(POST=MANAGER_WRITE),
    "clarifications.reply": Route(POST=LEAD_WRITE),
    "clarifications.close": Route(POST=MANAGER_WRITE),
    "clarifications.reply_file": Route(
        GET=only("lead", "partner", "reviewer", "manager", "admin"), args={"file_id": "clarification_file"}
    ),
    "reviews.result": Route(GET=CONSORTIUM, POST=only("lead", status=ALLOWED) | {"partner": 403}),
    "reviews.eligibility_result": Route(GET=CONSORTIUM, POST=only("lead", status=ALLOWED) | {"partner": ALLOWED}),
    # --- awards ---
    "awards.mine": Route(GET=SIGNED_IN),
    "awards.show": Route(GET=READERS, POST=only("lead", "manager", "admin", status=ALLOWED) | {"partner": 403}),
    "awards.letter": Route(GET=only("lead", "partner", "manager", "admin")),
    "awards.report_file": Route(GET=only("lead", "partner", "manager", "admin")),
    "awards.dashboard": Route(GET=MANAGERS, POST=MANAGER_WRITE),
    "awards.export": Route(GET=MANAGERS),
    # --- administration ---
    "audit.index": Route(GET=MANAGERS),
    "admin.outbox": Route(GET=ADMINS),
    "admin.outbox_message": Route(GET=ADMINS),
    "admin.notifications": Route(GET=ADMINS),
    "admin.resend": Route(POST=ADMIN_WRITE),
    # users and roles (user 1: the stranger); the email-change link is opened by anyone who has it
    "users.index": Route(GET=ADMINS),
    "users.show": Route(GET=ADMINS, args={"user_id": "=1"}),
    "users.roles": Route(POST=ADMIN_WRITE, args={"user_id": "=1"}),
    "users.disable": Route(POST=ADMIN_WRITE, args={"user_id": "=1"}),
    "users.enable": Route(POST=ADMIN_WRITE, args={"user_id": "=1"}),
    "users.change_email": Route(POST=ADMIN_WRITE, args={"user_id": "=1"}),
    "users.reset_two_factor": Route(POST=ADMIN_WRITE, args={"user_id": "=1"}),
    "users.confirm_email": Route(GET=page(TOKEN_PROBLEM, anonymous=TOKEN_PROBLEM), POST=PUBLIC_FORM),
    # --- API: accounts ---
    "api.openapi_get": Route(GET=API_PUBLIC),
    "api.token_post": Route(POST=api(ALLOWED, anonymous=ALLOWED)),
    "api.revoke_token_delete": Route(DELETE=api(ALLOWED)),
    "api.create_user_post": Route(POST=api(ALLOWED, anonymous=ALLOWED)),
    "api.me_get": Route(GET=API_SIGNED_IN),
    "api.export_me_get": Route(GET=API_SIGNED_IN),
    "api.delete_me_delete": Route(DELETE=api(ALLOWED), body={"password": "not-the-password"}),
    "api.get_channels_get": Route(GET=API_SIGNED_IN),
    "api.put_channels_put": Route(PUT=api(ALLOWED), body={"choices": {"review_due": ["email"]}}),
    "api.list_users_get": Route(GET=only("admin", kind=api)),
    "api.get_user_get": Route(GET=only("admin", kind=api), args={"user_id": "=1"}),
    "api.update_user_patch": Route(
        PATCH=only("admin", status=ALLOWED, kind=api), args={"user_id": "=1"}, body={"disabled": False}
    ),
    # --- API: organizations and consortia ---
    "api.list_organizations_get": Route(GET=API_SIGNED_IN),
    "api.create_organization_post": Route(POST=api(ALLOWED)),
    "api.get_organization_get": Route(GET=only("lead", "manager", "admin", kind=api)),
    "api.update_organization_patch": Route(
        PATCH=only("lead", status=ALLOWED, kind=api), body={"description": "Жаңартылды"}
    ),
    "api.accept_invitation_post": Route(POST=api(ALLOWED), body={"token": "not-a-valid-token"}),
    "api.accept_invitation_by_link_post": Route(POST=api(ALLOWED)),
    "api.invite_member_post": Route(
        POST=only("lead", status=ALLOWED, kind=api), body={"email": "new@example.kz", "role": "editor"}
    ),
    "api.verify_organization_post": Route(POST=API_MANAGER_WRITE, body={"women_led": True, "youth_led": False}),
    "api.create_consortium_post": Route(POST=api(ALLOWED)),
    "api.get_consortium_get": Route(GET=API_CONSORTIUM),
    "api.confirm_consortium_post": Route(
        POST=only("partner", status=ALLOWED, kind=api) | {"lead": 403, "manager": 403, "admin": 403},
        body={"organization_id": "@partner_org"},
    ),
    # --- API: calls ---
    "api.list_calls_get": Route(GET=API_PUBLIC),
    "api.get_call_get": Route(GET=API_PUBLIC),
    "api.check_eligibility_post": Route(  # anyone signed in, for an organization of theirs (tests/calls)
        POST=api(ALLOWED), args={"call_id": "open_call"},
        body={"organization_id": "@org", "answers": {"consortium_members": 2, "requested_amount": 2_000_000}},
    ),
    "api.create_call_post": Route(POST=API_MANAGER_WRITE),
    "api.update_call_patch": Route(
        PATCH=API_MANAGER_WRITE, args={"call_id": "draft_call"}, body={"description": {"ru": "Уточнено"}}
    ),
    "api.publish_call_post": Route(POST=API_MANAGER_WRITE, args={"call_id": "draft_call"}),
    "api.copy_call_post": Route(POST=API_MANAGER_WRITE),
    "api.create_subscription_post": Route(POST=api(ALLOWED, anonymous=ALLOWED)),
    "api.public_results_get": Route(GET=API_PUBLIC),
    "api.send_broadcast_post": Route(
        POST=API_MANAGER_WRITE,
        body={"segment": "reviewers", "subject": {"ru": "Тема"}, "body": {"ru": "Текст"}, "client_token": "access"},
    ),
    "api.ask_question_post": Route(POST=api(ALLOWED), body={"text": "Серіктес болуға бола ма?"}),
    "api.list_questions_get": Route(GET=API_PUBLIC),
    "api.answer_question_post": Route(POST=API_MANAGER_WRITE, args={"question_id": "=1"}, body={"text": {"ru": "Да."}}),
    # --- API: applications ---
    "api.list_applications_get": Route(GET=API_SIGNED_IN),
    "api.create_application_post": Route(POST=api(ALLOWED), args={"call_id": "open_call"}),
    "api.get_application_get": Route(GET=only("lead", "partner", "reviewer", "manager", "admin", kind=api)),
    "api.eligibility_get_get": Route(GET=API_CONSORTIUM),
    "api.update_application_patch": Route(
        PATCH=only("lead", "partner", status=ALLOWED, kind=api),
        args=DRAFT_APP,
        body={"title": "Жаңа атау", "version": 1},
    ),
    "api.submit_application_post": Route(POST=API_LEAD_WRITE | {"partner": 403}, args=DRAFT_APP),
    "api.withdraw_application_post": Route(POST=API_LEAD_WRITE | {"partner": 403}),
    "api.upload_attachment_post": Route(POST=only("lead", "partner", status=ALLOWED, kind=api), args=DRAFT_APP),
    "api.access_log_get": Route(GET=only("lead", "partner", kind=api)),
    # --- API: reviews ---
    "api.eligibility_post": Route(
        POST=API_MANAGER_WRITE, body={"application_id": "@app", "eligible": True, "reason": "Бәрі дұрыс"}
    ),  # fmt: skip
    "api.auto_assign_post": Route(POST=API_MANAGER_WRITE),
    "api.assignments_get": Route(GET=only("reviewer", "other_reviewer", kind=api)),
    "api.declaration_post": Route(POST=API_REVIEWER_WRITE, body={"conflict": False, "pledge": True}),
    "api.put_review_put": Route(PUT=API_REVIEWER_WRITE, body={"scores": {}, "comments": {}, "submit": False}),
    "api.ranking_get": Route(GET=API_MANAGERS),
    "api.decisions_post": Route(POST=API_MANAGER_WRITE, body={"apply_selection": True}),
    "api.decision_get_get": Route(GET=only("lead", "manager", "admin", kind=api)),
    "api.appeals_post_post": Route(POST=only("lead", status=ALLOWED, kind=api), body={"reason": "Келіспейміз"}),
    "api.ask_clarification_post": Route(
        POST=API_MANAGER_WRITE, body={"question": "Сметаны түсіндіріңіз", "reply_by": "2099-01-01T10:00:00+05:00"}
    ),
    "api.reply_clarification_post": Route(POST=API_LEAD_WRITE, body={"text": "Түсіндірме"}),
    "api.close_clarification_post": Route(POST=API_MANAGER_WRITE),
    "api.list_clarifications_get": Route(GET=only("lead", "partner", "reviewer", "manager", "admin", kind=api)),
    "api.appeal_answer_post": Route(
        POST=API_MANAGER_WRITE, body={"outcome": "dismissed", "answer": "Шешім өзгермейді"}
    ),
    "api.reopen_post_post": Route(POST=API_MANAGER_WRITE, body={"reason": "Бағалар түсіндірілмеген"}),
    # --- API: awards ---
    "api.list_awards_get": Route(GET=API_SIGNED_IN),
    "api.get_award_get": Route(GET=API_CONSORTIUM),
    "api.letter_pdf_get": Route(GET=API_CONSORTIUM),
    "api.submit_report_post": Route(
        POST=only("lead", status=ALLOWED, kind=api), body={"kind": "interim", "narrative": "Жасалды", "indicators": {}}
    ),
    "api.tranche_paid_post": Route(POST=API_MANAGER_WRITE, body={"paid_on": "2027-04-01"}),
    "api.tranche_reversal_post": Route(POST=API_MANAGER_WRITE, body={"reason": "Қате енгізілген төлем"}),
    "api.review_report_post": Route(POST=API_MANAGER_WRITE, body={"approve": True}),
    "api.create_awards_post": Route(POST=API_MANAGER_WRITE),
    "api.issue_letter_post": Route(POST=API_MANAGER_WRITE, body={"language": "ru"}),
}


# --- machinery -------------------------------------------------------------------------------------

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
NOW = clock.source().replace(microsecond=0)  # real time: tokens and uploads behave as in production


@pytest.fixture(scope="module")
def site(pg_database, tmp_path_factory):
    """One app, one PostgreSQL database, one world for the whole module."""
    from conftest import FreshContextClient, _base_config, _truncate_pg

    from grants import create_app
    from grants.extensions import db

    _truncate_pg(pg_database)
    app = create_app(_base_config(pg_database, tmp_path_factory.mktemp("access")))
    app.test_client_class = FreshContextClient
    with app.app_context(), clock.travel(NOW) as travel:
        ids = build(app, travel, NOW)
        yield app, ids
        db.session.remove()
        db.engine.dispose()


def _value(ids: dict, key: str):
    if key.startswith("="):
        literal = key[1:]
        return int(literal) if literal.isdigit() else literal
    return ids[key]


def url_of(app, ids: dict, endpoint: str) -> str:
    from flask import url_for

    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    route = ROUTES[endpoint]
    values = {arg: _value(ids, route.args[arg] if arg in route.args else DEFAULT_ARGS[arg]) for arg in rule.arguments}
    with app.test_request_context():
        return url_for(endpoint, **values)


def signed_in(app, role: str):
    """A browser signed in as `role` (anonymous: not signed in)."""
    from conftest import login

    client = app.test_client()
    if role != "anonymous":
        login(client, email(role), PASSWORD)
    return client


def api_headers(app, role: str) -> dict:
    if role == "anonymous":
        return {}
    from conftest import api_login

    response = api_login(app.test_client(), email(role), PASSWORD)
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def fingerprint() -> dict[str, str]:
    """A digest of every table's rows: any write shows."""
    from grants.extensions import db

    digests = {}
    for table in db.metadata.sorted_tables:
        query = sa.text(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table.name}\" t")
        digests[table.name] = db.session.execute(query).scalar_one()
    db.session.rollback()
    return digests


def _expected(route: Route, method: str, role: str):
    return getattr(route, method)[role]


def _body(route: Route, ids: dict) -> dict:
    return {k: (ids[v[1:]] if isinstance(v, str) and v.startswith("@") else v) for k, v in (route.body or {}).items()}


# --- the tests -------------------------------------------------------------------------------------


def test_every_route_and_method_has_an_entry(site):
    app, _ids = site
    missing, stale = [], []
    seen = set()
    for rule in app.url_map.iter_rules():
        seen.add(rule.endpoint)
        route = ROUTES.get(rule.endpoint)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        if route is None:
            missing.append(f"{rule.endpoint} {methods} {rule.rule}")
            continue
        for method in methods:
            if getattr(route, method) is None:
                missing.append(f"{rule.endpoint} {method} {rule.rule}")
        for method in METHODS:
            if getattr(route, method) is not None and method not in methods:
                stale.append(f"{rule.endpoint} {method}")
        for arg in rule.arguments:
            assert arg in route.args or arg in DEFAULT_ARGS, f"{rule.endpoint}: no value for <{arg}>"
    stale += sorted(set(ROUTES) - seen)
    assert not missing, "routes without an access entry (add them to ROUTES):\n  " + "\n  ".join(missing)
    assert not stale, "entries for routes or methods that do not exist:\n  " + "\n  ".join(stale)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_and_api_read_answers_each_role_as_expected(site, role):
    app, ids = site
    client = signed_in(app, role)
    headers = api_headers(app, role)
    wrong = []
    for endpoint, route in sorted(ROUTES.items()):
        if route.GET is None or not any(r.endpoint == endpoint for r in app.url_map.iter_rules()):
            continue
        url = url_of(app, ids, endpoint)
        response = client.get(url, headers=headers if endpoint.startswith("api.") else {})
        expected = route.GET[role]
        if response.status_code != expected:
            wrong.append(f"GET {url} ({endpoint}): {response.status_code}, expected {expected}")
    assert not wrong, f"{role}:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_writes_a_role_may_not_make_are_refused_and_change_nothing(site, role):
    from conftest import csrf_token

    app, ids = site
    client = signed_in(app, role)
    headers = api_headers(app, role)
    token = csrf_token(client, "/login" if role == "anonymous" else "/account")
    before = fingerprint()
    wrong = []
    for endpoint, route in sorted(ROUTES.items()):
        for method in METHODS[1:]:
            table = getattr(route, method)
            if table is None or table[role] == ALLOWED:
                continue
            if not any(r.endpoint == endpoint and method in r.methods for r in app.url_map.iter_rules()):
                continue
            url, expected = url_of(app, ids, endpoint), table[role]
            if endpoint.startswith("api."):
                if "upload" in endpoint:
                    data = {"kind": "other", "file": (io.BytesIO(PDF), "x.pdf")}
                    response = client.open(url, method=method, data=data, headers=headers)
                else:
                    response = client.open(url, method=method, json=_body(route, ids), headers=headers)
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
            reported = REPORTED.get((endpoint, method, role))
            if reported is not None and response.status_code == expected:
                wrong.append(f"{method} {url} ({endpoint}): now {expected} as expected; remove it from REPORTED")
            elif response.status_code not in (expected, reported):
                wrong.append(f"{method} {url} ({endpoint}): {response.status_code}, expected {expected}")
            if response.status_code == 302 and role == "anonymous":
                assert "/login" in response.headers["Location"], (url, response.headers["Location"])
    after = fingerprint()
    changed = sorted(name for name in before if before[name] != after[name])
    assert not wrong, f"{role}:\n  " + "\n  ".join(wrong)
    assert not changed, f"{role}: refused writes changed the tables {changed}"


AUTHORIZED_WRITES = [  # (endpoint, method, role, status): the roles the table allows get through
    ("api.update_organization_patch", "PATCH", "lead", 200),
    ("api.invite_member_post", "POST", "lead", 201),
    ("api.verify_organization_post", "POST", "manager", 200),
    ("api.update_call_patch", "PATCH", "admin", 200),
    ("api.publish_call_post", "POST", "manager", 200),
]


def test_the_roles_the_table_allows_get_through(site):
    """Runs last in this module: these writes change the world."""
    app, ids = site
    wrong = []
    for endpoint, method, role, expected in AUTHORIZED_WRITES:
        route = ROUTES[endpoint]
        assert getattr(route, method)[role] == ALLOWED, (endpoint, role)
        response = app.test_client().open(url_of(app, ids, endpoint), method=method, json=_body(route, ids),
                                          headers=api_headers(app, role))  # fmt: skip
        if response.status_code != expected:
            wrong.append(f"{method} {endpoint} as {role}: {response.status_code} {response.json}, expected {expected}")
    assert not wrong, "\n".join(wrong)
