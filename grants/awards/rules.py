"""Who may see and act on an award: the one place for these rules."""

from __future__ import annotations

from flask import abort

from ..consortia.rules import user_org_ids
from ..extensions import db
from .models import Award


def can_manage(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_manager)


def get_award_or_404(award_id: int, user, action: str = "view") -> Award:
    """Managers see every award; members of the consortium's organizations see theirs
    (the lead's members also report); others get 404."""
    award = db.session.get(Award, award_id)
    if award is None or not getattr(user, "is_authenticated", False):
        abort(404)
    consortium = award.application.consortium
    orgs = user_org_ids(user)
    if action == "manage":
        allowed = can_manage(user)
    elif action == "report":
        allowed = consortium.lead_organization_id in orgs
    else:
        allowed = can_manage(user) or bool(orgs & set(consortium.member_ids()))
    if not allowed:
        abort(404)
    return award
