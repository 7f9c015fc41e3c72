"""Who may see and act on clarification requests: the one place for these rules.

Managers and the consortium's members see the thread of a submitted application; assigned
reviewers who declared no conflict see the questions and answers (on a blind call without
organization names or file names). Managers ask and close; only people acting for the lead
(consortia.rules.acts_for_lead) answer — a partner reads the thread but does not answer for
the consortium. Everyone else gets 404."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import select

from ..applications import lifecycle as app_lifecycle
from ..applications import rules as app_rules
from ..applications.models import Application
from ..core import clock
from ..extensions import db
from . import lifecycle
from .models import Clarification, ClarificationFile, ClarificationReply


@dataclass(frozen=True)
class Viewer:
    manager: bool
    member: bool  # of a consortium organization
    lead: bool  # acts for the lead
    reviewer: bool  # assigned, declared no conflict
    blind: bool  # a reviewer of a blind call: no organization or file names


def viewer(user, app: Application) -> Viewer | None:
    """How `user` may see the clarifications of `app`, or None (404)."""
    if not getattr(user, "is_authenticated", False) or not app_lifecycle.is_submitted(app):
        return None
    found = app_rules.access(user, app)
    if found is not None:
        return Viewer(manager=found.manager, member=found.member, lead=found.lead, reviewer=False, blind=False)
    if user.has_role("reviewer") and is_assigned_reviewer(user, app):
        return Viewer(manager=False, member=False, lead=False, reviewer=True, blind=bool(app.call.blind_review))
    return None


def is_assigned_reviewer(user, app: Application) -> bool:
    from ..reviews import lifecycle as review_lifecycle
    from ..reviews.models import Assignment

    assignment = db.session.execute(
        select(Assignment).filter_by(application_id=app.id, reviewer_id=user.id)
    ).scalar_one_or_none()
    return assignment is not None and review_lifecycle.is_opened(assignment)


def can_ask(seen: Viewer | None, app: Application) -> bool:
    """A manager, on a submitted application (never a draft or a withdrawn one)."""
    return bool(seen and seen.manager and app_lifecycle.is_submitted(app))


def can_answer(seen: Viewer | None, item: Clarification, now=None) -> bool:
    """Acting for the lead, while the request is open and before its reply_by."""
    return bool(seen and seen.lead and lifecycle.is_answerable(item) and (now or clock.now()) <= item.reply_by)


def is_late(item: Clarification, now=None) -> bool:
    return lifecycle.is_answerable(item) and (now or clock.now()) > item.reply_by


def can_close(seen: Viewer | None, item: Clarification) -> bool:
    return bool(seen and seen.manager and lifecycle.is_answerable(item))


def get_application_or_404(app_id: int, user) -> tuple[Application, Viewer]:
    app = db.session.get(Application, app_id)
    seen = viewer(user, app) if app is not None else None
    if seen is None:
        abort(404)
    return app, seen


def get_clarification_or_404(clarification_id: int, user) -> tuple[Clarification, Viewer]:
    item = db.session.get(Clarification, clarification_id)
    seen = viewer(user, item.application) if item is not None else None
    if seen is None:
        abort(404)
    return item, seen


def get_file_or_404(clarification_id: int, file_id: int, user) -> tuple[ClarificationFile, Viewer]:
    item, seen = get_clarification_or_404(clarification_id, user)
    stored = db.session.get(ClarificationFile, file_id)
    if stored is None:
        abort(404)
    reply = db.session.get(ClarificationReply, stored.reply_id)
    if reply is None or reply.clarification_id != item.id:
        abort(404)
    return stored, seen
