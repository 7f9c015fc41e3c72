"""Who may see and change an organization: the one place for these rules."""

from __future__ import annotations

from flask import abort

from ..extensions import db
from .models import MemberRole, Membership, Organization


def member_role(user, organization_id: int) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.execute(
        db.select(Membership.role).filter_by(user_id=user.id, organization_id=organization_id)
    ).scalar_one_or_none()


def can_view(user, org: Organization, role: str | None) -> bool:
    return role is not None or bool(getattr(user, "is_authenticated", False) and user.is_manager)


def can_edit(user, org: Organization, role: str | None) -> bool:
    return role in (MemberRole.OWNER, MemberRole.EDITOR)


def can_manage_members(user, org: Organization, role: str | None) -> bool:
    return role == MemberRole.OWNER


def can_verify(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_manager)


ACTIONS = {"view": can_view, "edit": can_edit, "members": can_manage_members}


def get_organization_or_404(org_id: int, user, action: str = "view") -> tuple[Organization, str | None]:
    """The organization and the user's role in it, or 404 when the user may not `action` it."""
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    role = member_role(user, org.id)
    if not ACTIONS[action](user, org, role):
        abort(404)
    return org, role
