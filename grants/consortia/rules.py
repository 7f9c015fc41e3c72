"""Who may see and act for a consortium: the one place for these rules."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from ..extensions import db
from ..organizations.models import Membership
from .models import Consortium


def user_org_ids(user) -> set[int]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(db.session.execute(select(Membership.organization_id).filter_by(user_id=user.id)).scalars())


def can_view(user, consortium: Consortium, orgs: set[int] | None = None) -> bool:
    orgs = user_org_ids(user) if orgs is None else orgs
    return bool(orgs & set(consortium.member_ids())) or bool(
        getattr(user, "is_authenticated", False) and user.is_manager
    )


def can_lead(user, consortium: Consortium, orgs: set[int] | None = None) -> bool:
    """Acting for the lead: members of the lead organization."""
    orgs = user_org_ids(user) if orgs is None else orgs
    return consortium.lead_organization_id in orgs


def get_consortium_or_404(consortium_id: int, user, action: str = "view") -> Consortium:
    consortium = db.session.get(Consortium, consortium_id)
    if consortium is None:
        abort(404)
    orgs = user_org_ids(user)
    allowed = can_view(user, consortium, orgs) if action == "view" else can_lead(user, consortium, orgs)
    if not allowed:
        abort(404)
    return consortium
