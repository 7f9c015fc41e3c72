"""PDFs of applications: the whole application for offline reading, the submission receipt
and the blank form of a call for preparing on paper. Each returns the PDF's bytes.

The application PDF has a blind variant for reviewers of a blind call: no organization names,
BINs, consortium name or file names, only neutral labels ("Lead organization", "Partner 1")."""

from __future__ import annotations

import json

from flask_babel import force_locale
from flask_babel import gettext as _

from ..calls.models import Call
from ..core import clock
from ..core.pdf import render_pdf
from ..extensions import db
from ..i18n import LANGUAGE_NAMES, format_number
from ..organizations.models import Organization
from ..organizations.reference import legal_form_name, region_name
from . import lifecycle, services
from .models import Application, Submission
from .sections import ATTACHMENT_KINDS, CATEGORIES, DECLARATIONS, MAX_MONTHS, SECTIONS


def _sections() -> dict[str, str]:
    return {key: str(label) for key, label in SECTIONS.items()}


def file_size(size: int) -> str:
    """Human-readable size in the current language."""
    if size < 1024:
        return _("%(n)s bytes", n=format_number(size))
    if size < 1024 * 1024:
        return _("%(n)s KB", n=format_number(round(size / 1024, 1)))
    return _("%(n)s MB", n=format_number(round(size / 1024 / 1024, 1)))


def _member_state(member) -> str:
    if member.role == "lead":
        return ""
    return {"confirmed": _("confirmed"), "declined": _("declined")}.get(member.state, _("not confirmed yet"))


def _blind_labels(members) -> dict[int, str]:
    """Organization id -> neutral label: the lead is "Lead organization", partners are numbered
    in the consortium's order ("Partner 1", "Partner 2", ...)."""
    labels, n = {}, 0
    for m in members:
        if m.role == "lead":
            labels[m.organization_id] = _("Lead organization")
        else:
            n += 1
            labels[m.organization_id] = _("Partner %(n)d", n=n)
    return labels


def _application_context(app: Application, locale: str, *, blind: bool = False) -> dict:
    """Everything the template shows, resolved in the current (forced) language. With `blind`,
    organizations are known only by their neutral labels and nothing names a person."""
    call = app.call
    members = sorted(app.consortium.members, key=lambda m: (m.role != "lead", m.id))
    names = _blind_labels(members) if blind else {m.organization_id: m.organization.name for m in members}

    def organization_name(org_id: int) -> str:
        if org_id not in names:
            # An organization no longer in the consortium: blind review never looks it up.
            org = None if blind else db.session.get(Organization, org_id)
            names[org_id] = org.name if org else "—"
        return names[org_id]

    budget, by_organization, by_category = [], {}, {}
    for line in app.budget_lines:
        name = organization_name(line.organization_id)
        category = str(CATEGORIES.get(line.category, line.category))
        budget.append({"line": line, "organization": name, "category": category})
        by_organization[name] = by_organization.get(name, 0) + line.total
        by_category[line.category] = by_category.get(line.category, 0) + line.total
    roles = app.partner_roles or {}
    declared = app.declarations or {}
    submission = services.latest_submission(app)
    return {
        "blind": blind,
        "app": app,
        "call": call,
        "call_title": call.text("title", locale),
        "sections": _sections(),
        "status_label": lifecycle.label(app.status),
        "language_name": LANGUAGE_NAMES.get(app.language, app.language),
        "printed_at": clock.now(),
        "submission": submission,
        "receipt_number": submission.receipt_number if submission else None,
        "problems": (
            [(str(SECTIONS.get(section, section)), message) for section, message in services.problems(app)]
            if lifecycle.is_editable(app)
            else []
        ),
        "members": [
            {
                "name": organization_name(m.organization_id),
                "bin": None if blind else m.organization.bin,
                "legal_form": legal_form_name(m.organization.legal_form, locale),
                "role": _("Lead organization") if m.role == "lead" else _("Partner"),
                "state": _member_state(m),
                "region": region_name(m.organization.region, locale),
            }
            for m in members
        ],
        "budget": budget,
        "budget_total": app.budget_total,
        "by_organization": sorted(by_organization.items(), key=lambda item: -item[1]),
        "by_category": [(str(label), by_category[key]) for key, label in CATEGORIES.items() if key in by_category],
        "partners": [
            (organization_name(m.organization_id), roles.get(str(m.organization_id), ""))
            for m in members
            if m.role == "partner"
        ],
        "declarations": [(str(label), bool(declared.get(key))) for key, label in DECLARATIONS.items()],
        "attachments": [
            {
                "filename": None if blind else a.filename,
                "kind": str(ATTACHMENT_KINDS.get(a.kind, a.kind)),
                "size": file_size(a.size),
                "sha256": a.sha256,
            }
            for a in app.attachments
        ],
    }


def application_pdf(app: Application, locale: str, *, blind: bool = False) -> bytes:
    """The whole application (draft or submitted) for reading offline. `blind` is the reviewers'
    copy for a blind call: organizations appear as "Lead organization" / "Partner N" (legal
    form, role and region kept), without names, BINs, the consortium's name or file names."""
    with force_locale(locale):
        context = _application_context(app, locale, blind=blind)
        from ..clarifications.services import addenda  # answers to clarification requests: the "Addenda" section

        context["addenda"] = addenda(app, blind=blind)
    return render_pdf("application", locale, **context)


def receipt_pdf(app: Application, submission: Submission, locale: str) -> bytes:
    """One page: receipt number, what was submitted and when, and the snapshot's SHA-256.
    Title, amount and consortium come from the submission's own snapshot, so the receipt of an
    earlier version still shows what that version said."""
    frozen = json.loads(submission.snapshot)
    content = frozen.get("content", {})
    consortium = frozen.get("consortium", {})
    lead = next((m for m in consortium.get("members", []) if m.get("role") == "lead"), {})
    return render_pdf(
        "receipt",
        locale,
        submission=submission,
        call_code=frozen.get("call", {}).get("code", app.call.code),
        call_title=app.call.text("title", locale),
        consortium_name=consortium.get("name", app.consortium.name),
        lead_name=lead.get("name", ""),
        lead_bin=lead.get("bin"),
        project_title=content.get("title", app.title),
        requested_amount=content.get("requested_amount", app.requested_amount),
        currency=app.call.currency,
    )


def blank_form_pdf(call: Call, locale: str) -> bytes:
    """The call's application form, empty, for preparing on paper."""
    with force_locale(locale):
        context = {
            "call": call,
            "call_title": call.text("title", locale),
            "criteria": [
                {"title": c.text("title", locale), "weight": c.weight, "max_score": c.max_score} for c in call.criteria
            ],
            "sections": _sections(),
            "categories": [str(label) for label in CATEGORIES.values()],
            "declarations": [str(label) for label in DECLARATIONS.values()],
            "attachment_kinds": [str(label) for label in ATTACHMENT_KINDS.values()],
            "max_months": MAX_MONTHS,
        }
    return render_pdf("blank_form", locale, **context)
