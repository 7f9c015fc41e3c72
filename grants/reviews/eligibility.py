"""Eligibility screening after the call closes: automatic checks and the manager's confirmation."""

from __future__ import annotations

from flask_babel import gettext as _

from .. import notices
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..calls import lifecycle as call_lifecycle
from ..calls.models import Call
from ..core import clock
from ..core.db import transactional
from ..core.errors import Conflict, ValidationFailed
from .lifecycle import lock

REVIEW_STAGE = (call_lifecycle.Status.CLOSED, call_lifecycle.Status.IN_REVIEW)


def result(app: Application):
    """(eligible, reason, decided_at) of the latest screening, or (None, None, None) before it."""
    if app.eligibility_decided_at is None:
        return None, None, None
    eligible = app.status != app_lifecycle.Status.INELIGIBLE
    return eligible, app.eligibility_reason or None, app.eligibility_decided_at


def require_stage(call: Call, *stages) -> None:
    if call_lifecycle.effective_status(call) not in stages:
        raise Conflict(_("This is not possible while the call is %(status)s.", status=call_lifecycle.label(call)),
                       code="wrong_stage")  # fmt: skip


def checks(app: Application) -> list[tuple[str, bool, str]]:
    """Automatic eligibility checks shown to the manager: (name, passed, detail). The call's rules
    are judged by the one module the call page's check and the submission use (calls.eligibility)."""
    from ..calls import eligibility

    failed = {reason.code for reason in eligibility.for_application(app).reasons}
    count = len(app.consortium.members)
    return [
        ("region", "region" not in failed, app.consortium.lead.region),
        ("legal_form", "legal_form" not in failed, app.consortium.lead.legal_form),
        ("consortium_size", "consortium_size" not in failed, str(count)),
        ("budget", "amount_range" not in failed and app.budget_total == app.requested_amount, str(app.requested_amount)),
        ("partners_confirmed", app.consortium.all_confirmed, ""),
    ]  # fmt: skip


@transactional
def set_eligibility(actor, app: Application, *, eligible: bool, reason: str) -> Application:
    """A manager confirms eligible or ineligible (after closing, before review), with a reason."""
    require_stage(app.call, *REVIEW_STAGE)
    reason = (reason or "").strip()
    if not eligible and not reason:
        raise ValidationFailed(_("Give the reason why the application is not eligible."),
                               fields={"reason": [_("A reason is required.")]})  # fmt: skip
    lock(app)
    app.eligibility_decided_at = clock.now()
    target = app_lifecycle.Status.ELIGIBLE if eligible else app_lifecycle.Status.INELIGIBLE
    if app.status == target:
        app.eligibility_reason = reason or app.eligibility_reason
    else:
        app_lifecycle.transition(app, target, actor, locked=True, reason=reason)
        app.eligibility_reason = reason
        notices.eligibility_result(app)  # the applicant is told, with the reason
    return app
