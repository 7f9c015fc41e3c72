"""Who may do what with accounts (the one place for these rules)."""

from __future__ import annotations

from .models import Role, User


def can_manage_users(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN))


def can_view_user(viewer, user: User) -> bool:
    return bool(getattr(viewer, "is_authenticated", False) and (viewer.id == user.id or viewer.is_manager))
