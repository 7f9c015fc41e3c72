"""Awards: created from the funding decisions, edited until the letter is issued, letters
(PDF, SHA-256, public verification code), tranches, reports and the tracking figures."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import mail
from ..accounts.models import User
from ..applications.models import Application
from ..audit.services import record
from ..calls.models import Call
from ..consortia.models import Consortium
from ..core import clock
from ..core.errors import Conflict, ServiceError, ValidationFailed
from ..extensions import db
from ..i18n import display_zone
from ..organizations.models import Membership
from ..reviews.models import Decision
from .models import Award, Letter, Report, Tranche

DEFAULT_TRANCHES = ((40, "signature"), (40, "interim_report"), (20, "final_report"))


def _today() -> date:
    return clock.now().astimezone(display_zone()).date()


def _months(app: Application) -> int:
    return max([w.end_month for w in app.workplan] or [12])


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return date(year, month, min(day.day, last[month - 1]))


def _schedule(award: Award) -> None:
    """Tranches 40/40/20 % at signature, interim report approval, final report; reports at
    mid-term and at the end. Rounding goes to the last tranche, so the sum is exact."""
    middle = award.starts_on + (award.ends_on - award.starts_on) / 2
    dues = {"signature": award.starts_on, "interim_report": middle, "final_report": award.ends_on}
    amounts = [award.amount * pct // 100 for pct, _c in DEFAULT_TRANCHES]
    amounts[-1] = award.amount - sum(amounts[:-1])
    award.tranches = [Tranche(n=i + 1, percent=pct, amount=amounts[i], condition=cond, due_on=dues[cond])
                      for i, (pct, cond) in enumerate(DEFAULT_TRANCHES)]  # fmt: skip
    award.reports = [
        Report(kind="interim", due_on=middle),
        Report(kind="final", due_on=award.ends_on + timedelta(days=30)),
    ]


def create_from_decisions(actor, call: Call) -> list[Award]:
    """One award per "award" decision of the call that has none yet."""
    rows = db.session.execute(
        select(Application).join(Decision, Decision.application_id == Application.id)
        .where(Application.call_id == call.id, Decision.outcome == "award")
        .where(~select(Award.id).where(Award.application_id == Application.id).exists())
        .order_by(Application.number)
    ).scalars().all()  # fmt: skip
    made = []
    start = _today() + timedelta(days=14)
    for app in rows:
        award = Award(application_id=app.id, agreement_number=f"{call.code}/{app.number or app.id:03d}",
                      amount=app.requested_amount, currency=call.currency, starts_on=start,
                      ends_on=_add_months(start, _months(app)))  # fmt: skip
        _schedule(award)
        db.session.add(award)
        db.session.flush()
        record(actor, "award.created", "award", award.id, after={"application": app.id, "amount": award.amount})
        made.append(award)
    db.session.commit()
    return made


def update(actor, award: Award, data: dict) -> Award:
    """Agreement number, amount, dates and tranche percentages, until the letter is issued."""
    if award.letter is not None:
        raise Conflict(_("The letter has been issued; issue a new version to change the award."), code="letter_issued")
    errors: dict[str, list[str]] = {}
    number = str(data.get("agreement_number", award.agreement_number)).strip()[:60]
    if not number:
        errors["agreement_number"] = [_("This field is required.")]
    try:
        amount = int(str(data.get("amount", award.amount)).replace(" ", ""))
        if amount <= 0:
            raise ValueError
    except ValueError:
        errors["amount"] = [_("Must be more than zero.")]
        amount = award.amount
    try:
        starts = date.fromisoformat(str(data.get("starts_on", award.starts_on)))
        ends = date.fromisoformat(str(data.get("ends_on", award.ends_on)))
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
    keep = [t.percent for t in award.tranches]
    award.tranches, award.reports = [], []
    db.session.flush()
    _schedule(award)
    for tranche, pct in zip(award.tranches, percents or keep, strict=True):
        tranche.percent = pct
    amounts = [award.amount * t.percent // 100 for t in award.tranches]
    amounts[-1] = award.amount - sum(amounts[:-1])
    for tranche, value in zip(award.tranches, amounts, strict=True):
        tranche.amount = value
    record(actor, "award.updated", "award", award.id, before=before,
           after={"agreement_number": number, "amount": amount, "starts_on": str(starts), "ends_on": str(ends),
                  "percents": [t.percent for t in award.tranches]})  # fmt: skip
    db.session.commit()
    return award


# --- letters ------------------------------------------------------------------------------------


def lead_language(award: Award) -> str:
    row = db.session.execute(
        select(User.locale).join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == award.application.consortium.lead_organization_id)
        .order_by(Membership.role.desc(), Membership.id).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return row or "ru"


def issue_letter(actor, award: Award, language: str | None = None) -> Letter:
    """Render the letter (lead's language by default), store it with its SHA-256 and a new
    verification code; an earlier version stays, marked superseded."""
    from .letters import render_letter

    app = award.application
    if db.session.execute(select(Decision.outcome).filter_by(application_id=app.id)).scalar_one_or_none() != "award":
        raise Conflict(_("This application has no award decision."), code="not_awarded")
    language = language if language in ("kk", "ru", "en") else lead_language(award)
    code = secrets.token_hex(6).upper()
    version = len(award.letters) + 1
    data = render_letter(award, language, code, version)
    digest = hashlib.sha256(data).hexdigest()
    relative = Path("letters") / f"{award.id}-v{version}-{code}.pdf"
    target = Path(current_app.config["UPLOAD_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    now = clock.now()
    for old in award.letters:
        if old.superseded_at is None:
            old.superseded_at = now
    letter = Letter(award_id=award.id, version=version, language=language, verification_code=code, path=str(relative),
                    sha256=digest, issued_at=now, issued_by_id=getattr(actor, "id", None))  # fmt: skip
    db.session.add(letter)
    record(actor, "award.letter_issued", "award", award.id, after={"version": version, "sha256": digest, "code": code})
    db.session.flush()
    _email_letter(award, letter, data)
    db.session.commit()
    return letter


def _email_letter(award: Award, letter: Letter, data: bytes) -> None:
    from ..core.urls import external_url

    rows = db.session.execute(
        select(User.email, User.locale).join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == award.application.consortium.lead_organization_id)
    ).all()  # fmt: skip
    for email, locale in rows:
        message = mail.render("award_letter", locale, award=award, letter=letter,
                              link=external_url("awards.show", award_id=award.id),
                              verify=external_url("awards.verify", code=letter.verification_code))  # fmt: skip
        message.update(to=email, attachments=[{"filename": f"letter-{award.agreement_number.replace('/', '-')}.pdf",
                                               "content_type": "application/pdf", "data": data}])  # fmt: skip
        mail.deliver(message)


def find_letter(code: str) -> Letter | None:
    return db.session.execute(
        select(Letter).filter_by(verification_code=(code or "").strip().upper()[:40])
    ).scalar_one_or_none()


def letter_bytes(letter: Letter) -> bytes:
    from ..core.uploads import absolute

    return absolute(letter.path).read_bytes()


# --- tranches and reports --------------------------------------------------------------------------


def mark_paid(actor, award: Award, n: int, paid_on) -> Tranche:
    tranche = next((t for t in award.tranches if t.n == n), None)
    if tranche is None:
        raise ServiceError(_("There is no such tranche."), code="not_found")
    if tranche.paid_on is not None:
        raise Conflict(_("This tranche was already marked paid on %(day)s.", day=tranche.paid_on.isoformat()),
                       code="already_paid")  # fmt: skip
    try:
        day = paid_on if isinstance(paid_on, date) else date.fromisoformat(str(paid_on))
    except ValueError:
        raise ValidationFailed(_("Enter a date, e.g. 2027-05-01."), fields={"paid_on": [_("Not a date.")]}) from None
    tranche.paid_on = day
    if award.status == "pending_signature":
        award.status = "active"
    record(actor, "award.tranche_paid", "award", award.id, after={"n": n, "paid_on": day.isoformat()})
    db.session.commit()
    return tranche


def _open_report(award: Award, kind: str) -> Report:
    report = next((r for r in award.reports if r.kind == kind), None)
    if report is None:
        raise ValidationFailed(_("Choose interim or final."), fields={"kind": [_("Not a valid choice.")]})
    if report.status in ("submitted", "approved"):
        raise Conflict(_("This report is already submitted."), code="report_submitted")
    return report


def save_report(actor, award: Award, *, kind: str, narrative: str, indicators: dict, version=None,
                submit: bool = False) -> Report:  # fmt: skip
    """Save a report draft (autosave and the Save button) or submit it. Indicator names must be
    the project's own; a save based on an older version is refused, never overwrites."""
    report = _open_report(award, kind)
    if version is not None and str(version) != str(report.version):
        raise Conflict(_("Someone else saved this report after you opened it. Reload it and try again."),
                       code="stale_version", extra={"current_version": report.version})  # fmt: skip
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
    report.narrative, report.indicators, report.version = (narrative or "").strip()[:20000], values, report.version + 1
    if submit:
        report.status, report.submitted_at = "submitted", clock.now()
        record(actor, "award.report_submitted", "award", award.id, after={"kind": kind})
    db.session.commit()
    return report


def submit_report(actor, award: Award, *, kind: str, narrative: str, indicators: dict, version=None) -> Report:
    return save_report(
        actor, award, kind=kind, narrative=narrative, indicators=indicators, version=version, submit=True
    )


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
    db.session.commit()


def review_report(actor, award: Award, kind: str, *, approve: bool, note: str = "") -> Report:
    report = next((r for r in award.reports if r.kind == kind), None)
    if report is None or report.status != "submitted":
        raise Conflict(_("There is no submitted report to review."), code="not_submitted")
    if not approve and not (note or "").strip():
        raise ValidationFailed(_("Say what needs to change."), fields={"note": [_("A reason is required.")]})
    report.status = "approved" if approve else "returned"
    report.reviewed_at, report.review_note = clock.now(), (note or "").strip()[:5000]
    if approve and kind == "final" and all(t.paid_on for t in award.tranches[:-1]):
        award.status = "completed" if award.tranches[-1].paid_on else award.status
    record(actor, "award.report_reviewed", "award", award.id, after={"kind": kind, "approved": approve})
    db.session.commit()
    return report


def overdue(award: Award, today: date | None = None) -> list[str]:
    """What is late, in the reader's language: an unpaid signature tranche, a report not in."""
    today = today or _today()
    out = [_("Tranche %(n)d", n=t.n) for t in award.tranches
           if not t.paid_on and t.due_on < today and t.condition == "signature"]  # fmt: skip
    out += [_("Interim report") if r.kind == "interim" else _("Final report")
            for r in award.reports if r.status in ("due", "returned") and r.due_on < today]  # fmt: skip
    return out


def awards_of_call(call: Call) -> list[Award]:
    return list(db.session.execute(select(Award).join(Application, Application.id == Award.application_id)
                                   .where(Application.call_id == call.id).order_by(Award.agreement_number)).scalars())  # fmt: skip


def awards_of(user) -> list[Award]:
    from ..consortia.rules import user_org_ids

    orgs = user_org_ids(user)
    if not orgs:
        return []
    return list(db.session.execute(
        select(Award).join(Application, Application.id == Award.application_id)
        .join(Consortium, Consortium.id == Application.consortium_id)
        .where(Consortium.lead_organization_id.in_(orgs))).scalars())  # fmt: skip
