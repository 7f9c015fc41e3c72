"""Broadcasts: a manager's message to a segment of people, sent once per client_token."""

from __future__ import annotations

from flask import jsonify

from ..accounts.models import Role
from ..broadcasts import services
from ..broadcasts.models import LANGUAGES, SEGMENTS
from .core import current_api_user, endpoint
from .schema import ID, Body, body, text

MANAGERS = (Role.MANAGER, Role.ADMIN)
BROADCAST_BODY = Body({"type": "object", "required": ["segment", "subject", "body", "client_token"], "properties": {
    "segment": {"type": "string", "enum": list(SEGMENTS)},
    "call_id": ID | {"type": ["integer", "null"], "description": "required for applicants and drafts"},
    "subject": {"type": "object", "properties": {lang: text(services.MAX_SUBJECT) for lang in LANGUAGES}},
    "body": {"type": "object", "properties": {lang: text(services.MAX_BODY) for lang in LANGUAGES},
             "description": "subject and body in at least one language (422 otherwise)"},
    "client_token": text(64, minLength=1, description="the same token again answers the first broadcast")}})  # fmt: skip
BROADCAST = {"type": "object", "properties": {"id": {"type": "integer"}, "recipients": {"type": "integer"}}}


@endpoint("/broadcasts", "POST", summary="Send a message to a segment (once per client_token)", roles=MANAGERS,
          tag="calls", status=201, body=BROADCAST_BODY, response=BROADCAST)  # fmt: skip
def send_broadcast():
    payload = body()
    broadcast, _sent = services.send_broadcast(current_api_user(), segment=payload["segment"],
                                               call_id=payload.get("call_id"), subject=payload["subject"],
                                               body=payload["body"], client_token=payload["client_token"])  # fmt: skip
    return jsonify({"id": broadcast.id, "recipients": broadcast.sent_count}), 201
