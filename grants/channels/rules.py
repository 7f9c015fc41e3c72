"""Who may link channels, which channels may be chosen, and who may ask the bot about an
application: the one place for these rules."""

from __future__ import annotations

from ..applications import rules as application_rules


def can_manage_channels(user) -> bool:
    """Every signed-in, active person manages their own Telegram chat, phone and choices."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def can_choose(channel: str, *, telegram_linked: bool, phone_verified: bool) -> bool:
    """Email is always there; Telegram once a chat is linked; SMS once the phone is verified."""
    return channel == "email" or (channel == "telegram" and telegram_linked) or (channel == "sms" and phone_verified)


def can_ask_status(user, application) -> bool:
    """A linked chat learns an application's status only if its person is a member of one of the
    consortium's organizations (lead or partner) — the same rule as opening the application."""
    if user is None or not user.is_active:
        return False
    found = application_rules.access(user, application)
    return bool(found and found.member)
