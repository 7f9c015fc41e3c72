"""Who may see and change calls: the one place for these rules."""

from __future__ import annotations

from flask import abort

from ..extensions import db
from .lifecycle import is_public
from .models import Call


def can_manage(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_manager)


def can_view(user, call: Call) -> bool:
    """Drafts are the managers' own; everything published is public."""
    return is_public(call) or can_manage(user)


def get_call_or_404(call_id: int, user, action: str = "view") -> Call:
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    allowed = can_view(user, call) if action == "view" else can_manage(user)
    if not allowed:
        abort(404)
    return call
