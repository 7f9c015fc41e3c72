"""Who may see and resend notifications (the one place for these rules)."""

from __future__ import annotations

from ..accounts.models import Role
from . import lifecycle
from .models import Notification


def can_see_log(user) -> bool:
    """The notification log shows every recipient's address: administrators only."""
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.ADMIN))


def can_resend(user, note: Notification) -> bool:
    """Sent, bounced or failed notifications may be sent again; pending ones are on their way."""
    return can_see_log(user) and note.status in lifecycle.RESENDABLE
