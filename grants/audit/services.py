"""Recording audit events; every write service calls record()."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context, request

from ..extensions import db
from .models import AuditEvent


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys that changed, so the log shows what was edited."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(actor, action: str, obj_type: str, obj_id: int | None, *, before=None, after=None) -> AuditEvent:
    ip = request.remote_addr if has_request_context() else None
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        action=action,
        object_type=obj_type,
        object_id=obj_id,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        ip=ip,
    )
    db.session.add(event)
    return event
