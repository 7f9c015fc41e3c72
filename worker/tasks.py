"""Kept for old imports: the tasks live in grants.tasks (queue them by name: grants.core.tasks)."""

from grants.tasks import (
    alerts_scan,
    alerts_sweep,
    announce_call,
    issue_letters,
    ping,
    retention_run,
    send_email,
    send_letter_email,
    send_notification,
    sessions_purge,
)

__all__ = [
    "alerts_scan",
    "alerts_sweep",
    "announce_call",
    "issue_letters",
    "ping",
    "retention_run",
    "send_email",
    "send_letter_email",
    "send_notification",
    "sessions_purge",
]
