"""Who may see and act on an award: the one place for these rules. Views, the API, templates
(as context helpers) and PDFs ask these predicates; the services enforce the states."""

from __future__ import annotations

from flask import abort

from ..consortia.rules import acts_for_lead, user_org_ids
from ..extensions import db
from . import lifecycle
from .lifecycle import TrancheStatus
from .models import Award


def can_manage(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_manager)


def is_lead_member(user, award: Award) -> bool:
    """Acts for the consortium's lead (consortia.rules.acts_for_lead): reports for the award."""
    return acts_for_lead(user, award.application.consortium)


def can_edit_award(user, award: Award) -> bool:
    """Until the letter is issued and before any payment (later: amendments)."""
    from .services import has_payments

    return can_manage(user) and award.letter is None and not has_payments(award)


def can_issue_letter(user, award: Award) -> bool:
    return can_manage(user) and award.status in lifecycle.AWARD_OPEN


def can_mark_paid(user, award: Award, tranche) -> bool:
    """The next tranche to pay, whose condition holds."""
    if not can_manage(user) or tranche.status != TrancheStatus.PAYABLE:
        return False
    previous = next((t for t in award.tranches if t.n == tranche.n - 1), None)
    return previous is None or previous.status == TrancheStatus.PAID


def can_reverse_payment(user, award: Award, tranche) -> bool:
    """The last paid tranche (a payment recorded in error is reversed, newest first)."""
    if not can_manage(user) or tranche.status != TrancheStatus.PAID:
        return False
    later = next((t for t in award.tranches if t.n == tranche.n + 1), None)
    return later is None or later.status != TrancheStatus.PAID


def editable_report(award: Award):
    """The report the grantee writes now: the first one not yet in (or returned)."""
    return next((r for r in award.reports if r.status in lifecycle.REPORT_EDITABLE), None)


def can_edit_report(user, award: Award, report) -> bool:
    current = editable_report(award)
    return current is not None and current.id == report.id and is_lead_member(user, award)


def can_review_report(user, report) -> bool:
    return can_manage(user) and report.status in lifecycle.REPORT_WAITING


def report_shows_content(report) -> bool:
    return report.status in lifecycle.REPORT_SHOWN


def get_award_or_404(award_id: int, user, action: str = "view") -> Award:
    """Managers see every award; members of the consortium's organizations see theirs
    (the lead's members also report); others get 404."""
    award = db.session.get(Award, award_id)
    if award is None or not getattr(user, "is_authenticated", False):
        abort(404)
    consortium = award.application.consortium
    orgs = user_org_ids(user)
    if action == "manage":
        allowed = can_manage(user)
    elif action == "report":
        allowed = acts_for_lead(user, consortium, orgs)
    else:
        allowed = can_manage(user) or bool(orgs & set(consortium.member_ids()))
    if not allowed:
        abort(404)
    return award
