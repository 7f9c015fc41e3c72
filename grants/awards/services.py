"""Awards: created from the funding decisions, edited until the letter is issued, letters
(PDF, SHA-256, public verification code, frozen snapshot), tranches with their payment history,
reports and the tracking figures. Every public service here is one unit of work; status changes go
through the machines of `lifecycle`."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update as sql_update

from .. import notices
from ..applications.models import Application
from ..audit.services import record
from ..calls.models import Call
from ..consortia.models import Consortium
from ..core import clock
from ..core.db import lock, transactional
from ..core.errors import Conflict, ServiceError, ValidationFailed
from ..extensions import db
from ..i18n import display_zone
from ..reviews.models import Decision
from . import lifecycle
from .lifecycle import REPORT, Condition
from .models import Award, Report, Tranche

DEFAULT_TRANCHES = ((40, Condition.SIGNATURE), (40, Condition.INTERIM_REPORT), (20, Condition.FINAL_REPORT))


class NotFound(ServiceError):
    status = 404
    code = "not_found"


def today() -> date:
    """Today in the programme's zone (Asia/Almaty): payments are dated against it."""
    return clock.now().astimezone(display_zone()).date()


_today = today


def _months(app: Application) -> int:
    return max([w.end_month for w in app.workplan] or [12])


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(day.day, last[month - 1]))


def _dues(starts: date, ends: date) -> tuple[dict, dict]:
    """Tranche due dates by condition and report due dates by kind for a project period."""
    middle = starts + (ends - starts) / 2
    return (
        {Condition.SIGNATURE: starts, Condition.INTERIM_REPORT: middle, Condition.FINAL_REPORT: ends},
        {"interim": middle, "final": ends + timedelta(days=30)},
    )


def _amounts(total: int, percents: list[int]) -> list[int]:
    """Rounding goes to the last tranche, so the sum is exact."""
    amounts = [total * pct // 100 for pct in percents]
    amounts[-1] = total - sum(amounts[:-1])
    return amounts


def _schedule(award: Award) -> None:
    """Tranches 40/40/20 % at signature, interim report approval, final report; reports at
    mid-term and at the end."""
    tranche_due, report_due = _dues(award.starts_on, award.ends_on)
    amounts = _amounts(award.amount, [pct for pct, _c in DEFAULT_TRANCHES])
    award.tranches = [Tranche(n=i + 1, percent=pct, amount=amounts[i], condition=str(cond), due_on=tranche_due[cond])
                      for i, (pct, cond) in enumerate(DEFAULT_TRANCHES)]  # fmt: skip
    award.reports = [Report(kind=kind, due_on=day) for kind, day in report_due.items()]


@transactional
def create_from_decisions(actor, call: Call) -> list[Award]:
    """One award per "award" decision of the call that has none yet (two managers at once: the
    unique application id makes the second request a 409)."""
    rows = db.session.execute(
        select(Application).join(Decision, Decision.application_id == Application.id)
        .where(Application.call_id == call.id, Decision.outcome == "award")
        .where(~select(Award.id).where(Award.application_id == Application.id).exists())
        .order_by(Application.number)
    ).scalars().all()  # fmt: skip
    made = []
    start = today() + timedelta(days=14)
    for app in rows:
        award = Award(application_id=app.id, agreement_number=f"{call.code}/{app.number or app.id:03d}",
                      amount=app.requested_amount, currency=call.currency, starts_on=start,
                      ends_on=_add_months(start, _months(app)))  # fmt: skip
        _schedule(award)
        db.session.add(award)
        db.session.flush()
        record(actor, "award.created", "award", award.id, after={"application": app.id, "amount": award.amount})
        made.append(award)
    return made


def lock_award(award: Award) -> Award:
    """Every change of an award's money or status locks the award row first (one lock order, so
    no deadlock), then reads its tranches and reports as committed."""
    # core.db.lock() would put FOR UPDATE on the joined application (PostgreSQL refuses it on the
    # nullable side of an outer join), so the row is locked by key and then reloaded.
    db.session.execute(select(Award.id).where(Award.id == award.id).with_for_update())
    db.session.refresh(award)
    for item in (*award.tranches, *award.reports):
        db.session.refresh(item)
    return award


def _stale(award: Award) -> Conflict:
    return Conflict(_("Someone else changed this award after you opened it. Reload the page and try again."),
                    code="stale", extra={"current_version": award.version})  # fmt: skip


def has_payments(award: Award) -> bool:
    return any(t.payments or t.paid_on for t in award.tranches)


@transactional
def update(actor, award: Award, data: dict, *, version=None) -> Award:
    """Agreement number, amount, dates and tranche percentages, until the letter is issued and
    before any payment. The schedule rows are changed in place, never replaced, so no payment and
    no report can be lost; an edit based on an older version of the award is refused (409 stale)."""
    lock_award(award)
    if version not in (None, "") and str(version) != str(award.version):
        raise _stale(award)
    if has_payments(award):
        raise Conflict(_("A payment has been recorded for this award, so it can no longer be edited here. "
                         "Changes now go through an amendment."), code="payments_recorded")  # fmt: skip
    if award.letter is not None:
        raise Conflict(_("The letter has been issued; issue a new version to change the award."), code="letter_issued")
    errors: dict[str, list[str]] = {}
    number = str(data.get("agreement_number") or award.agreement_number).strip()[:60]
    if not number:
        errors["agreement_number"] = [_("This field is required.")]
    try:
        amount = int(str(data.get("amount") or award.amount).replace(" ", ""))
        if amount <= 0 or amount > 10**15:
            raise ValueError
    except ValueError:
        errors["amount"] = [_("Must be more than zero.")]
        amount = award.amount
    try:
        starts = date.fromisoformat(str(data.get("starts_on") or award.starts_on))
        ends = date.fromisoformat(str(data.get("ends_on") or award.ends_on))
        if ends <= starts:
            errors["ends_on"] = [_("The end must be after the start.")]
    except ValueError:
        errors["starts_on"] = [_("Enter a date, e.g. 2027-05-01.")]
        starts, ends = award.starts_on, award.ends_on
    percents = data.get("percents")
    if percents is not None:
        try:
            percents = [int(p) for p in percents]
        except (TypeError, ValueError):
            percents = None
        if not percents or len(percents) != len(award.tranches) or sum(percents) != 100 or min(percents) < 0:
            errors["percents"] = [_("The tranche percentages must total 100.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    before = {"agreement_number": award.agreement_number, "amount": award.amount, "starts_on": str(award.starts_on),
              "ends_on": str(award.ends_on), "percents": [t.percent for t in award.tranches]}  # fmt: skip
    award.agreement_number, award.amount, award.starts_on, award.ends_on = number, amount, starts, ends
    percents = percents or [t.percent for t in award.tranches]
    tranche_due, report_due = _dues(starts, ends)
    for tranche, pct, value in zip(award.tranches, percents, _amounts(amount, percents), strict=True):
        tranche.percent, tranche.amount = pct, value
        tranche.due_on = tranche_due.get(tranche.condition, tranche.due_on)
    for report in award.reports:
        report.due_on = report_due.get(report.kind, report.due_on)
    award.version += 1
    record(actor, "award.updated", "award", award.id, before=before,
           after={"agreement_number": number, "amount": amount, "starts_on": str(starts), "ends_on": str(ends),
                  "percents": percents, "version": award.version})  # fmt: skip
    return award


# --- reports --------------------------------------------------------------------------------------


def _report(award: Award, kind: str) -> Report:
    report = next((r for r in award.reports if r.kind == kind), None)
    if report is None:
        raise ValidationFailed(_("Choose interim or final."), fields={"kind": [_("Not a valid choice.")]})
    return report


def _open_report(award: Award, kind: str) -> Report:
    report = lock(_report(award, kind))
    if report.status not in lifecycle.REPORT_EDITABLE:
        raise Conflict(_("This report is already submitted."), code="report_submitted")
    return report


def _stale_report(report: Report) -> Conflict:
    return Conflict(_("Someone else saved this report after you opened it. Reload it and try again."),
                    code="stale_version", extra={"current_version": report.version})  # fmt: skip


@transactional
def save_report(actor, award: Award, *, kind: str, narrative: str, indicators: dict, version=None,
                submit: bool = False) -> Report:  # fmt: skip
    """Save a report draft (autosave and the Save button) or submit it. Indicator names must be
    the project's own. The version is compared under the row lock and written with
    `UPDATE … WHERE version = …`, so of two saves based on the same version one wins and the
    other is refused (409), never silently overwritten."""
    if submit:
        lock_award(award)
    report = _open_report(award, kind)
    if version not in (None, "") and str(version) != str(report.version):
        raise _stale_report(report)
    known = {i.name for i in award.application.indicators}
    errors: dict[str, list[str]] = {}
    values = {}
    for name, value in (indicators or {}).items():
        if name not in known:
            errors[f"indicators.{name}"] = [_("This is not one of the project's indicators.")]
            continue
        if value in (None, ""):
            continue
        try:
            values[name] = float(str(value).replace(",", ".").replace(" ", ""))
        except ValueError:
            errors[f"indicators.{name}"] = [_("Please enter a number.")]
    if submit and not (narrative or "").strip():
        errors["narrative"] = [_("Describe what was done.")]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    written = db.session.execute(
        sql_update(Report).where(Report.id == report.id, Report.version == report.version)
        .values(narrative=(narrative or "").strip()[:20000], indicators=values, version=Report.version + 1)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if written.rowcount != 1:
        raise _stale_report(report)
    db.session.refresh(report)
    if submit:
        report.submitted_at = clock.now()
        REPORT.transition(report, "submit", actor, locked=True)
        notices.report_submitted(report, award)
    return report


def submit_report(actor, award: Award, *, kind: str, narrative: str, indicators: dict, version=None) -> Report:
    return save_report(
        actor, award, kind=kind, narrative=narrative, indicators=indicators, version=version, submit=True
    )


@transactional
def add_report_file(actor, award: Award, kind: str, upload) -> None:
    """Photos and documents for a report: checked by content, 10 MB at most."""
    from ..core import uploads
    from .models import ReportFile

    report = _open_report(award, kind)
    if upload is None or not getattr(upload, "filename", ""):
        raise ValidationFailed(_("Choose a file to upload."), fields={"file": [_("Choose a file to upload.")]})
    if len(report.files) >= 30:
        raise ValidationFailed(_("At most %(n)d attachments.", n=30), fields={"file": [_("Too many files.")]})
    stored = uploads.store(upload, folder="reports")
    report.files.append(ReportFile(filename=stored.filename, path=stored.path, size=stored.size, sha256=stored.sha256,
                                   content_type=stored.content_type, uploaded_by_id=actor.id))  # fmt: skip
    record(actor, "award.report_file_added", "award", award.id, after={"kind": kind, "sha256": stored.sha256})


@transactional
def review_report(actor, award: Award, kind: str, *, approve: bool, note: str = "") -> Report:
    """Approve a submitted report (which may make a tranche payable and complete the award) or
    return it with a note saying what needs to change."""
    lock_award(award)
    report = lock(_report(award, kind))
    if report.status not in lifecycle.REPORT_WAITING:
        raise Conflict(_("There is no submitted report to review."), code="invalid_transition")
    if not approve and not (note or "").strip():
        raise ValidationFailed(_("Say what needs to change."), fields={"note": [_("A reason is required.")]})
    report.reviewed_at, report.review_note = clock.now(), (note or "").strip()[:5000]
    REPORT.transition(report, "approve" if approve else "return", actor, locked=True)
    notices.report_reviewed(report, award, approved=approve)
    return report


overdue = lifecycle.overdue


def awards_of_call(call: Call) -> list[Award]:
    return list(db.session.execute(select(Award).join(Application, Application.id == Award.application_id)
                                   .where(Application.call_id == call.id).order_by(Award.agreement_number)).scalars())  # fmt: skip


def awards_of(user) -> list[Award]:
    """The awards of the consortia the user acts for the lead of (consortia.rules.acts_for_lead)."""
    from ..accounts.models import User
    from ..consortia.rules import lead_member_query

    if not getattr(user, "is_authenticated", False):
        return []
    led = lead_member_query(Consortium.id).where(User.id == user.id)
    return list(db.session.execute(
        select(Award).join(Application, Application.id == Award.application_id)
        .where(Application.consortium_id.in_(led))).scalars())  # fmt: skip


# The letter and payment services live in `issuing` and `payments`; older callers still find them here.
_MOVED = {
    **dict.fromkeys(("issue_letter", "find_letter", "letter_bytes", "letter_pdf", "lead_language", "latest_version"),
                    "issuing"),
    **dict.fromkeys(("mark_paid", "reverse_payment"), "payments"),
}  # fmt: skip


def __getattr__(name: str):
    if name in _MOVED:
        from importlib import import_module

        return getattr(import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(name)
