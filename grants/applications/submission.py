"""The final check and submission: what blocks a submission, the frozen snapshot with its
SHA-256 and receipt number, and withdrawal before the deadline."""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy import text as text_sql

from .. import mail, notices
from ..calls import eligibility
from ..calls.models import Call
from ..consortia.rules import acts_for_lead, lead_members
from ..core import clock
from ..core.db import lock, transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..i18n import format_datetime, format_money
from . import lifecycle
from .models import Application, Submission
from .sections import DECLARATIONS, FIELD_SECTION


def problems(app: Application) -> list[tuple[str, str]]:
    """Every blocking problem as (section, message); empty means ready to submit."""
    call = app.call
    out: list[tuple[str, str]] = []
    for field, message in (
        ("title", _("Give the project a title.")), ("summary", _("Write the summary.")),
        ("problem", _("Describe the problem.")), ("objectives", _("State the objectives.")),
        ("activities", _("Describe the activities.")),
    ):  # fmt: skip
        if not getattr(app, field).strip():
            out.append((FIELD_SECTION[field], message))
    if not app.workplan:
        out.append(("workplan", _("Add at least one activity to the workplan.")))
    if not app.budget_lines:
        out.append(("budget", _("Add at least one budget line.")))
    if not app.indicators:
        out.append(("indicators", _("Add at least one indicator.")))
    facts = eligibility.facts_of(app)  # the call's eligibility rules: calls.eligibility, the one place
    if reason := eligibility.amount_range(call, facts):
        out.append(("summary", reason.message))
    if app.budget_total != app.requested_amount:
        out.append(("budget", _("The budget totals %(total)s, but the requested amount is %(requested)s.",
                                total=format_money(app.budget_total), requested=format_money(app.requested_amount))))  # fmt: skip
    members = set(app.consortium.member_ids())
    if any(line.organization_id not in members for line in app.budget_lines):
        out.append(("budget", _("A budget line belongs to an organization that is not in the consortium.")))
    for rule in (eligibility.consortium_size, eligibility.region, eligibility.legal_form):
        if reason := rule(call, facts):
            out.append(("partners", reason.message))
    for member in app.consortium.members:
        if member.role == "partner" and not member.confirmed:
            out.append(("partners", _("%(name)s has not confirmed its participation.", name=member.organization.name)))
        if member.role == "partner" and not (app.partner_roles or {}).get(str(member.organization_id)):
            out.append(("partners", _("Describe the role of %(name)s.", name=member.organization.name)))
    if not all((app.declarations or {}).get(key) for key in DECLARATIONS):
        out.append(("declarations", _("Tick every declaration.")))
    return out


def snapshot(app: Application) -> dict:
    """Everything that was submitted, as plain data (attachments by their hashes)."""
    from . import services as drafts  # the draft's content, read the same way as when saving

    return {
        "application_id": app.id,
        "call": {"id": app.call.id, "code": app.call.code},
        "consortium": {
            "id": app.consortium.id,
            "name": app.consortium.name,
            "members": [
                {
                    "organization_id": m.organization_id,
                    "name": m.organization.name,
                    "bin": m.organization.bin,
                    "role": m.role,
                    "region": m.organization.region,
                }
                for m in app.consortium.members
            ],  # fmt: skip
        },
        "content": drafts.content(app),
        "attachments": [
            {"filename": a.filename, "kind": a.kind, "size": a.size, "sha256": a.sha256, "content_type": a.content_type}
            for a in app.attachments
        ],  # fmt: skip
    }


def canonical(data: dict) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text — the same bytes every time."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _deadline_passed(call: Call) -> Conflict:
    return Conflict(eligibility.deadline_passed_message(call), code="deadline_passed")


@transactional
def submit(actor, app: Application) -> Submission:
    """Freeze the application: canonical snapshot, SHA-256, receipt number, receipt email.
    Takes a share lock on the call (a manager changing or closing it waits for submissions in
    flight, and they for it; submissions do not wait for each other), then the application's
    row lock before checking, so of several submits of one application exactly one freezes a
    version; the others see it submitted (409). Receipt numbers are ordered per call by a lock
    taken last, held only while the submission is numbered, written and committed: in a deadline
    rush the call's submissions never queue behind each other's checks and snapshots."""
    from .services import lock_for_writing

    if not acts_for_lead(actor, app.consortium):
        raise Forbidden(_("Only a member of the lead organization can submit the application."), code="not_lead")
    call = app.call
    db.session.refresh(call, attribute_names=["closes_at", "opens_at"], with_for_update={"read": True})
    lock_for_writing(app)  # and the consortium's members as committed now
    now = clock.received_at()  # when the request reached us: a queue at the deadline does not make it late
    if eligibility.call_closed(call, eligibility.Facts(now=now)):
        raise _deadline_passed(call)
    if now < call.opens_at:
        raise Conflict(_("The call opens at %(when)s.", when=format_datetime(call.opens_at)), code="call_not_open")
    if not lifecycle.is_editable(app):
        raise Conflict(_("This application has already been submitted."), code="already_submitted")
    found = problems(app)
    if found:
        fields: dict[str, list[str]] = {}
        for section, message in found:
            fields.setdefault(section, []).append(message)
        raise ValidationFailed(_("The application is not complete yet. See the list of problems."), fields=fields,
                               code="incomplete")  # fmt: skip
    version = (db.session.execute(select(func.count(Submission.id)).filter_by(application_id=app.id)).scalar() or 0) + 1
    text = canonical(snapshot(app))
    recipients = lead_members(app.consortium)
    if app.number is None:
        _numbering_lock(call.id)  # from here to the commit: a few statements
        app.number = (
            db.session.execute(select(func.max(Application.number)).filter_by(call_id=call.id)).scalar() or 0
        ) + 1
    receipt = f"{call.code}-{app.number:04d}" + (f"-v{version}" if version > 1 else "")
    submission = Submission(application_id=app.id, version=version, receipt_number=receipt, snapshot=text,
                            sha256=hashlib.sha256(text.encode()).hexdigest(), submitted_at=now,
                            submitted_by_id=actor.id)  # fmt: skip
    db.session.add(submission)
    app.submitted_at = now
    lifecycle.transition(app, lifecycle.Status.SUBMITTED, actor, locked=True, receipt_number=receipt,
                         sha256=submission.sha256)  # fmt: skip
    db.session.flush()
    _send_receipt(app, submission, recipients)
    notices.submitted_to_partners(app, submission)
    return submission


def _numbering_lock(call_id: int) -> None:
    """The transaction-scoped lock under which a call's next receipt number is taken (PostgreSQL
    advisory lock; SQLite serialises writers itself). Only submit takes it, and last, after the
    call's and the application's row locks, so it closes no cycle with them."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"grants:receipt-numbers:{call_id}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(text_sql("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _send_receipt(app: Application, submission: Submission, recipients: list) -> None:
    link = external_url("applications.receipt_pdf", app_id=app.id)
    for person in recipients:
        mail.send(person.email, "application_receipt", person.locale, app=app, submission=submission, link=link)


@transactional
def withdraw(actor, app: Application) -> Application:
    if not acts_for_lead(actor, app.consortium):
        raise Forbidden(_("Only a member of the lead organization can withdraw the application."), code="not_lead")
    if clock.received_at() >= app.call.closes_at:
        raise _deadline_passed(app.call)
    lock(app)
    lifecycle.transition(app, lifecycle.Status.WITHDRAWN, actor, locked=True)
    latest = latest_submission(app)
    if latest is not None:
        latest.withdrawn_at = clock.now()
    app.version += 1
    return app


def latest_submission(app: Application) -> Submission | None:
    return db.session.execute(
        select(Submission).filter_by(application_id=app.id).order_by(Submission.version.desc()).limit(1)
    ).scalar_one_or_none()


def submissions(app: Application) -> list[Submission]:
    return list(
        db.session.execute(select(Submission).filter_by(application_id=app.id).order_by(Submission.version)).scalars()
    )
