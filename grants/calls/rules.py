"""Who may see and change calls: the one place for these rules. Views, the API, templates (as
context helpers) and alert kinds ask these predicates; none of them compares status words."""

from __future__ import annotations

from flask import abort
from sqlalchemy import true

from ..extensions import db
from . import lifecycle
from .lifecycle import Status
from .models import Call


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_manage(user) -> bool:
    """Programme managers (and admins, who are managers too) run calls."""
    return bool(_signed_in(user) and user.is_manager)


def can_see(user, call: Call) -> bool:
    """Drafts are the managers' own; everything published is public."""
    return lifecycle.is_public(call) or can_manage(user)


can_view = can_see  # the older name, still asked by other domains


def can_edit(user, call: Call) -> bool:
    """The manager's editor: every rule of a draft, the wording of a published call."""
    return can_manage(user)


def can_edit_rules(user, call: Call) -> bool:
    """Money, dates, criteria and eligibility change only while the call is a draft."""
    return can_manage(user) and not lifecycle.rules_locked(call)


def can_publish(user, call: Call) -> bool:
    return can_manage(user) and lifecycle.can(call, Status.PUBLISHED)


def can_advance(user, call: Call, to: Status | str) -> bool:
    return can_manage(user) and lifecycle.can(call, to)


def can_assess(user, call: Call) -> bool:
    """Eligibility, reviewers and ranking pages: managers, once the call is published."""
    return can_manage(user) and lifecycle.is_public(call)


def can_apply(user, call: Call) -> bool:
    """The call takes applications: drafts may be started once it is published, until closes_at
    (submitting waits for opens_at). Anyone may follow the link; signing in comes next."""
    return lifecycle.effective_status(call) == Status.PUBLISHED


def can_see_countdown(user, call: Call) -> bool:
    """'closes in n days' on an open call."""
    return lifecycle.is_open(call)


def can_see_results(user, call: Call) -> bool:
    """The public results page exists once the call is decided."""
    return lifecycle.results_published(call)


def listed(user):
    """SQL condition for the calls `user` may see in a listing (the API and the pages)."""
    if can_manage(user):
        return true()
    return Call.status.in_(lifecycle.PUBLIC)


def get_call_or_404(call_id: int, user, action: str = "view") -> Call:
    """The call, or 404 when it does not exist or the user may not `action` it ("view", "manage")."""
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    allowed = can_see(user, call) if action == "view" else can_manage(user)
    if not allowed:
        abort(404)
    return call


def template_helpers() -> dict:
    """The predicates templates ask, bound to the signed-in user."""
    from flask_login import current_user

    def bind(predicate):
        return lambda *args: predicate(current_user, *args)

    return {
        "can_manage_calls": lambda: can_manage(current_user),
        "can_edit_call": bind(can_edit),
        "can_edit_call_rules": bind(can_edit_rules),
        "can_publish_call": bind(can_publish),
        "can_assess_call": bind(can_assess),
        "can_apply_to_call": bind(can_apply),
        "can_see_call_countdown": bind(can_see_countdown),
        "can_see_call_results": bind(can_see_results),
        "call_next_statuses": lambda call: [
            s for s in lifecycle.next_statuses(call) if can_advance(current_user, call, s)
        ],
    }
