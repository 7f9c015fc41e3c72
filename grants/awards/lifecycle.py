"""The award's state machines, the one place where an award, a tranche or a report changes status.

    Award:   pending_signature → active → completed | terminated (completed → active on a reversal)
    Tranche: scheduled → payable (its condition holds) → paid;  paid → payable ("reverse")
    Report:  due → submitted → approved | returned → submitted

Derived steps: a tranche becomes payable as soon as its condition holds (the letter is issued, the
interim report approved, the final report approved); the first payment activates the award; the
award completes when its final report is approved and every tranche is paid, whichever comes last.
"Overdue" is defined here once (OVERDUE sets and `overdue()`), for pages, exports and PDFs."""

from __future__ import annotations

import enum
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from ..core.lifecycle import Machine


class AwardStatus(enum.StrEnum):
    PENDING_SIGNATURE = "pending_signature"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class TrancheStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    PAYABLE = "payable"
    PAID = "paid"


class ReportStatus(enum.StrEnum):
    DUE = "due"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class Condition(enum.StrEnum):
    """What must hold before a tranche may be paid (the tranche's `condition` column)."""

    SIGNATURE = "signature"  # the award letter is issued
    INTERIM_REPORT = "interim_report"  # the interim report is approved
    FINAL_REPORT = "final_report"  # the final report is approved


# --- named sets ----------------------------------------------------------------------------------

AWARD_OPEN = frozenset({AwardStatus.PENDING_SIGNATURE, AwardStatus.ACTIVE})  # still followed up
TRANCHE_UNPAID = frozenset({TrancheStatus.SCHEDULED, TrancheStatus.PAYABLE})
TRANCHE_OVERDUE = frozenset({TrancheStatus.PAYABLE})  # owed (condition holds) and past its date
REPORT_EDITABLE = frozenset({ReportStatus.DUE, ReportStatus.RETURNED})  # the grantee may write
REPORT_OVERDUE = REPORT_EDITABLE  # not in (or sent back) and past its date
REPORT_IN = frozenset({ReportStatus.SUBMITTED, ReportStatus.APPROVED})  # its figures count
REPORT_SHOWN = frozenset({ReportStatus.SUBMITTED, ReportStatus.APPROVED, ReportStatus.RETURNED})
REPORT_WAITING = frozenset({ReportStatus.SUBMITTED})  # waiting for the manager

AWARD_LABELS = {
    AwardStatus.PENDING_SIGNATURE: _l("waiting for signature"),
    AwardStatus.ACTIVE: _l("active"),
    AwardStatus.COMPLETED: _l("completed"),
    AwardStatus.TERMINATED: _l("terminated"),
}
TRANCHE_LABELS = {
    TrancheStatus.SCHEDULED: _l("scheduled"),
    TrancheStatus.PAYABLE: _l("may be paid"),
    TrancheStatus.PAID: _l("paid"),
}
REPORT_LABELS = {
    ReportStatus.DUE: _l("not submitted yet"),
    ReportStatus.SUBMITTED: lazy_pgettext("report", "submitted"),
    ReportStatus.APPROVED: lazy_pgettext("report", "approved"),
    ReportStatus.RETURNED: _l("returned for changes"),
}
CONDITION_LABELS = {
    Condition.SIGNATURE: _l("on signing the agreement"),
    Condition.INTERIM_REPORT: _l("after approval of the interim report"),
    Condition.FINAL_REPORT: _l("after approval of the final report"),
}


# --- derived steps -------------------------------------------------------------------------------


def condition_holds(award, tranche) -> bool:
    """The tranche's condition, read from the award as it is now."""
    if tranche.condition == Condition.SIGNATURE:
        return award.letter is not None
    kind = "interim" if tranche.condition == Condition.INTERIM_REPORT else "final"
    report = next((r for r in award.reports if r.kind == kind), None)
    return report is not None and report.status == ReportStatus.APPROVED


def refresh_tranches(award, actor) -> None:
    """Scheduled tranches whose condition now holds become payable (the award row is locked)."""
    for tranche in award.tranches:
        if tranche.status == TrancheStatus.SCHEDULED and condition_holds(award, tranche):
            TRANCHE.transition(tranche, "unlock", actor, n=tranche.n)


def complete_if_done(award, actor) -> None:
    """Either order: the final report approved and every tranche paid → completed."""
    final = next((r for r in award.reports if r.kind == "final"), None)
    done = final is not None and final.status == ReportStatus.APPROVED
    if done and award.tranches and all(t.status == TrancheStatus.PAID for t in award.tranches):
        if award.status == AwardStatus.PENDING_SIGNATURE:
            AWARD.transition(award, "activate", actor, locked=True)
        if award.status == AwardStatus.ACTIVE:
            AWARD.transition(award, "complete", actor, locked=True)


def _award_of(obj):
    from ..extensions import db
    from .models import Award

    return db.session.get(Award, obj.award_id)


def _after_tranche(tranche, event, actor, before, data) -> None:
    award = _award_of(tranche)
    if event == "pay":
        if award.status == AwardStatus.PENDING_SIGNATURE:
            AWARD.transition(award, "activate", actor, locked=True)
        complete_if_done(award, actor)
    elif event == "reverse" and award.status == AwardStatus.COMPLETED:
        AWARD.transition(award, "reopen", actor, locked=True, reason=data.get("reason", ""))


def _after_report(report, event, actor, before, data) -> None:
    if event == "approve":
        award = _award_of(report)
        refresh_tranches(award, actor)
        complete_if_done(award, actor)


AWARD = Machine(
    name="award",
    statuses=AwardStatus,
    edges={
        (AwardStatus.PENDING_SIGNATURE, "activate"): AwardStatus.ACTIVE,
        (AwardStatus.ACTIVE, "complete"): AwardStatus.COMPLETED,
        (AwardStatus.COMPLETED, "reopen"): AwardStatus.ACTIVE,
        (AwardStatus.PENDING_SIGNATURE, "terminate"): AwardStatus.TERMINATED,
        (AwardStatus.ACTIVE, "terminate"): AwardStatus.TERMINATED,
    },
    labels=AWARD_LABELS,
)
TRANCHE = Machine(
    name="tranche",
    statuses=TrancheStatus,
    edges={
        (TrancheStatus.SCHEDULED, "unlock"): TrancheStatus.PAYABLE,
        (TrancheStatus.PAYABLE, "pay"): TrancheStatus.PAID,
        (TrancheStatus.PAID, "reverse"): TrancheStatus.PAYABLE,
    },
    labels=TRANCHE_LABELS,
    after=_after_tranche,
    describe=lambda t: {"award": t.award_id, "n": t.n},
)
REPORT = Machine(
    name="award_report",
    statuses=ReportStatus,
    edges={
        (ReportStatus.DUE, "submit"): ReportStatus.SUBMITTED,
        (ReportStatus.RETURNED, "submit"): ReportStatus.SUBMITTED,
        (ReportStatus.SUBMITTED, "approve"): ReportStatus.APPROVED,
        (ReportStatus.SUBMITTED, "return"): ReportStatus.RETURNED,
    },
    labels=REPORT_LABELS,
    after=_after_report,
    describe=lambda r: {"award": r.award_id, "kind": r.kind},
)


# --- questions every page, export and PDF asks -------------------------------------------------


def tranche_overdue(award, tranche, today: date) -> bool:
    return award.status in AWARD_OPEN and tranche.status in TRANCHE_OVERDUE and tranche.due_on < today


def report_overdue(award, report, today: date) -> bool:
    return award.status in AWARD_OPEN and report.status in REPORT_OVERDUE and report.due_on < today


def overdue(award, today: date | None = None) -> list[str]:
    """What is late, in the reader's language: a payable tranche not paid, a report not in."""
    from .services import today as today_

    today = today or today_()
    out = [_("Tranche %(n)d", n=t.n) for t in award.tranches if tranche_overdue(award, t, today)]
    out += [
        _("Interim report") if r.kind == "interim" else _("Final report")
        for r in award.reports
        if report_overdue(award, r, today)
    ]
    return out


def award_label(status) -> str:
    return AWARD.label(status)


def tranche_label(status) -> str:
    return TRANCHE.label(status)


def report_label(status) -> str:
    return REPORT.label(status)
