"""Tranche payments: paid only when the tranche's condition holds, in order, never dated in the
future, one payment of several requests at once (the award and tranche rows are locked); a payment
recorded in error is reversed with its reason, and both stay in the history."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from .. import notices
from ..core.db import lock, transactional
from ..core.errors import Conflict, ValidationFailed
from ..extensions import db
from . import lifecycle
from .lifecycle import TRANCHE, Condition, TrancheStatus
from .models import Award, Tranche, TranchePayment
from .services import NotFound, lock_award, today


def _tranche(award: Award, n) -> Tranche:
    tranche = next((t for t in award.tranches if t.n == n), None)
    if tranche is None:
        raise NotFound(_("There is no such tranche."))
    return tranche


def _paid_day(paid_on) -> date:
    try:
        day = paid_on if isinstance(paid_on, date) else date.fromisoformat(str(paid_on or ""))
    except ValueError:
        raise ValidationFailed(_("Enter a date, e.g. 2027-05-01."), fields={"paid_on": [_("Not a date.")]}) from None
    if day > today():
        raise ValidationFailed(_("A payment cannot be dated in the future."),
                               fields={"paid_on": [_("A payment cannot be dated in the future.")]},
                               code="future_date")  # fmt: skip
    return day


CONDITION_MISSING = {
    Condition.SIGNATURE: lambda: _("This tranche is paid once the award letter is issued."),
    Condition.INTERIM_REPORT: lambda: _("This tranche is paid once the interim report is approved."),
    Condition.FINAL_REPORT: lambda: _("This tranche is paid once the final report is approved."),
}


@transactional
def mark_paid(actor, award: Award, n: int, paid_on) -> Tranche:
    """Record the payment of tranche n: only when its condition holds, after tranche n-1, never
    dated in the future. The award and the tranche are locked first, so of several requests at
    once exactly one records the payment and the others see it paid (409)."""
    day = _paid_day(paid_on)
    lock_award(award)
    tranche = lock(_tranche(award, n))
    if tranche.status == TrancheStatus.PAID:
        raise Conflict(_("This tranche was already marked paid on %(day)s.", day=tranche.paid_on.isoformat()),
                       code="already_paid")  # fmt: skip
    lifecycle.refresh_tranches(award, actor)
    if tranche.status != TrancheStatus.PAYABLE:
        message = CONDITION_MISSING.get(tranche.condition, CONDITION_MISSING[Condition.FINAL_REPORT])()
        raise Conflict(message, code="condition_not_met")
    previous = next((t for t in award.tranches if t.n == n - 1), None)
    if previous is not None and previous.status != TrancheStatus.PAID:
        raise Conflict(_("Tranche %(n)d must be paid first.", n=previous.n), code="previous_unpaid")
    with db.session.no_autoflush:  # the date and the status change together (a CHECK ties them)
        tranche.paid_on = day
        tranche.payments.append(TranchePayment(kind="payment", paid_on=day, actor_id=getattr(actor, "id", None)))
        TRANCHE.transition(tranche, "pay", actor, locked=True, paid_on=day.isoformat())
    notices.tranche_paid(tranche, award)
    return tranche


@transactional
def reverse_payment(actor, award: Award, n: int, reason: str) -> Tranche:
    """Undo a payment recorded in error, with its reason. The payment stays in the history next to
    its reversal; the tranche may be paid again. The last paid tranche is reversed first."""
    reason = str(reason or "").strip()[:2000]
    if not reason:
        raise ValidationFailed(_("Say why the payment is reversed."), fields={"reason": [_("A reason is required.")]})
    lock_award(award)
    tranche = lock(_tranche(award, n))
    if tranche.status != TrancheStatus.PAID:
        raise Conflict(_("This tranche is not paid."), code="not_paid")
    later = next((t for t in award.tranches if t.n == n + 1), None)
    if later is not None and later.status == TrancheStatus.PAID:
        raise Conflict(_("Tranche %(n)d is paid after this one: reverse it first.", n=later.n),
                       code="later_tranche_paid")  # fmt: skip
    with db.session.no_autoflush:  # the date and the status change together (a CHECK ties them)
        tranche.paid_on = None
        tranche.payments.append(TranchePayment(kind="reversal", reason=reason, actor_id=getattr(actor, "id", None)))
        TRANCHE.transition(tranche, "reverse", actor, locked=True, reason=reason)
    return tranche
