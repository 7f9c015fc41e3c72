"""Appeals: the lead appeals a decided version once, within the call's window; a manager upholds
(the decision reopens and needs a new version) or dismisses it."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from .. import notices
from ..applications.models import Application
from ..audit.services import record
from ..calls.models import Call
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..extensions import db
from . import lifecycle
from .lifecycle import AppealStatus, DecisionStatus, lock
from .models import Appeal, Decision

ELIGIBILITY = 0  # the "decision version" of an appeal against the eligibility result


def appeal_deadline(call: Call, decision: Decision):
    return decision.decided_at + timedelta(days=call.appeal_days)


def eligibility_appeal_deadline(app: Application):
    """The end of the window for appealing an ineligibility (the call's appeal days from the
    screening), or None when the application is not ineligible."""
    from ..applications import lifecycle as app_lifecycle
    from .eligibility import result

    eligible, _reason, decided_at = result(app)
    if app.status != app_lifecycle.Status.INELIGIBLE or eligible is not False:
        return None
    return decided_at + timedelta(days=app.call.appeal_days)


def eligibility_appeal(app_id: int) -> Appeal | None:
    return db.session.execute(select(Appeal).filter_by(application_id=app_id, decision_version=ELIGIBILITY)
                              ).scalar_one_or_none()  # fmt: skip


def _when(moment) -> str:
    from ..i18n import format_datetime

    return format_datetime(moment)


def appeal_of(app_id: int, decision: Decision | None) -> Appeal | None:
    """The appeal against the current version of the decision (there is at most one)."""
    if decision is None:
        return None
    return db.session.execute(select(Appeal).filter_by(application_id=app_id, decision_version=decision.version)
                              ).scalar_one_or_none()  # fmt: skip


def appeals_of_application(app_id: int) -> list[Appeal]:
    return list(db.session.execute(select(Appeal).filter_by(application_id=app_id).order_by(Appeal.id)).scalars())


@transactional
def appeal(actor, app: Application, reason: str) -> Appeal:
    """The lead appeals a decision within the call's window (default 10 days), once per decision
    version. Two at once: the application's row lock orders them, the unique constraint backs it."""
    from ..consortia.rules import acts_for_lead

    if not acts_for_lead(actor, app.consortium):
        raise Forbidden(_("Only a member of the lead organization can appeal."), code="not_lead")
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if len(reason) < 20:
        raise ValidationFailed(_("Explain the reason for the appeal (at least 20 characters)."),
                               fields={"reason": [_("Too short.")]})  # fmt: skip
    lock(app)
    if (deadline := eligibility_appeal_deadline(app)) is not None:
        return _appeal_ineligibility(actor, app, reason, deadline)
    decision = db.session.execute(select(Decision).filter_by(application_id=app.id)
                                  .execution_options(populate_existing=True)).scalar_one_or_none()  # fmt: skip
    if decision is None or decision.status != DecisionStatus.DECIDED:
        raise Conflict(_("There is no decision to appeal yet."), code="no_decision")
    if clock.received_at() > appeal_deadline(app.call, decision):
        raise Conflict(_("The time for appeals ended on %(when)s.", when=_when(appeal_deadline(app.call, decision))),
                       code="appeal_closed")  # fmt: skip
    if appeal_of(app.id, decision) is not None:
        raise Conflict(_("This application has already been appealed."), code="already_appealed")
    item = Appeal(application_id=app.id, decision_version=decision.version, reason=reason[:10000],
                  created_by_id=actor.id, created_at=clock.now())  # fmt: skip
    db.session.add(item)
    db.session.flush()
    record(
        actor, "appeal.filed", "appeal", item.id, after={"application": app.id, "decision_version": decision.version}
    )
    notices.appeal_filed(item, app)
    return item


def _appeal_ineligibility(actor, app: Application, reason: str, deadline) -> Appeal:
    """An applicant declared ineligible appeals the screening once, within the call's window."""
    if clock.received_at() > deadline:
        raise Conflict(_("The time for appeals ended on %(when)s.", when=_when(deadline)), code="appeal_closed")
    if eligibility_appeal(app.id) is not None:
        raise Conflict(_("This application has already been appealed."), code="already_appealed")
    item = Appeal(application_id=app.id, decision_version=ELIGIBILITY, reason=reason[:10000],
                  created_by_id=actor.id, created_at=clock.now())  # fmt: skip
    db.session.add(item)
    db.session.flush()
    record(actor, "appeal.filed", "appeal", item.id, after={"application": app.id, "against": "eligibility"})
    notices.appeal_filed(item, app)
    return item


@transactional
def answer_appeal(actor, item: Appeal, *, outcome: str, answer: str) -> Appeal:
    """Uphold (the decision reopens: a new version is needed, the application is "reviewed"
    again) or dismiss, with a written answer. Answered once."""
    from .decisions import reopen_for_appeal

    if outcome not in (AppealStatus.UPHELD, AppealStatus.DISMISSED):
        raise ValidationFailed(_("Choose upheld or dismissed."), fields={"outcome": [_("Not a valid choice.")]})
    if not isinstance(answer, str) or not answer.strip():
        raise ValidationFailed(_("Write the answer to the applicant."), fields={"answer": [_("A reason is required.")]})
    app = db.session.get(Application, item.application_id)
    lock(app.call)  # the same order as decisions: call, then application, decision, appeal
    lock(item)
    if lifecycle.is_answered(item):
        raise Conflict(_("This appeal has already been answered."), code="already_answered")
    item.answer, item.answered_by_id, item.answered_at = answer.strip()[:10000], actor.id, clock.now()
    lifecycle.transition_appeal(item, str(outcome), actor, locked=True)
    if outcome == AppealStatus.UPHELD and item.decision_version == ELIGIBILITY:
        from ..applications import lifecycle as app_lifecycle

        lock(app)
        if app.status == app_lifecycle.Status.INELIGIBLE:  # the application goes on to the review
            app_lifecycle.transition(app, app_lifecycle.Status.ELIGIBLE, actor, locked=True,
                                     reason=f"appeal {item.id} upheld")  # fmt: skip
            app.eligibility_reason = item.answer
    elif outcome == AppealStatus.UPHELD:
        decision = lock(db.session.execute(select(Decision).filter_by(application_id=item.application_id)).scalar_one())
        if decision.status == DecisionStatus.DECIDED and decision.version == item.decision_version:
            reopen_for_appeal(actor, decision, app, locked=True)
    notices.appeal_answered(item, app)
    return item


def appeals_of(call: Call):
    return list(db.session.execute(select(Appeal, Application).join(Application, Application.id == Appeal.application_id)
                                   .where(Application.call_id == call.id).order_by(Appeal.id)).all())  # fmt: skip


def upheld_outcomes(call: Call) -> dict[str, int]:
    """What the upheld appeals actually changed, for the public results (one query): the
    decision was taken again with another outcome (`changed`), with the same one (`same`), or
    is still to be taken again (`open`)."""
    from sqlalchemy.orm import aliased

    from .models import DecisionVersion

    appealed = aliased(DecisionVersion)
    rows = db.session.execute(
        select(appealed.outcome, Decision.outcome, Decision.version, Decision.status, Appeal.decision_version)
        .join(Application, Application.id == Appeal.application_id)
        .join(Decision, Decision.application_id == Appeal.application_id)
        .join(appealed, (appealed.decision_id == Decision.id) & (appealed.version == Appeal.decision_version))
        .where(Application.call_id == call.id, Appeal.status == AppealStatus.UPHELD)
    ).all()
    out = {"changed": 0, "same": 0, "open": 0}
    for before, now, version, status, appealed_version in rows:
        if status != DecisionStatus.DECIDED or version <= appealed_version:
            out["open"] += 1
        else:
            out["changed" if now != before else "same"] += 1
    return out


def appeal_counts(appeals: list[Appeal]) -> dict[str, int]:
    """For the public results: received, upheld, dismissed, waiting."""
    return {
        "received": len(appeals),
        "upheld": sum(1 for a in appeals if a.status == AppealStatus.UPHELD),
        "dismissed": sum(1 for a in appeals if a.status == AppealStatus.DISMISSED),
        "waiting": sum(1 for a in appeals if a.status == AppealStatus.FILED),
    }
