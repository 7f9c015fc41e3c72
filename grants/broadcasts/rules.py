"""Who may send broadcasts: programme managers (and admins, who are managers too)."""

from __future__ import annotations

from ..calls import rules as call_rules


def can_broadcast(user) -> bool:
    return call_rules.can_manage(user)


def template_helpers() -> dict:
    from flask_login import current_user

    return {"can_broadcast": lambda: can_broadcast(current_user)}
