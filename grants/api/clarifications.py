"""Clarification requests (API.md "Additions"): a manager asks, the lead answers with addenda."""

from __future__ import annotations

from flask import jsonify, request

from ..accounts.models import Role
from ..clarifications import rules, services
from .core import current_api_user, endpoint
from .schema import Body, body, text

MANAGERS = (Role.MANAGER, Role.ADMIN)
ASK_BODY = Body({"type": "object", "required": ["question", "reply_by"], "properties": {
    "question": text(services.MAX_QUESTION),
    "reply_by": text(40, description="ISO 8601; without an offset, Astana time; in the future, at most 90 days ahead")}})  # fmt: skip
# `text` is checked by the service (422 `fields.text` when empty), so a caller who may not answer gets 404 first.
REPLY_BODY = Body({"type": "object", "properties": {
    "text": text(services.MAX_ANSWER, description="the answer (required)"),
    "file": {"type": "string", "format": "binary", "description": "optional; may be repeated (up to 5)"}}},
    media="multipart")  # fmt: skip
FILE = {"type": "object", "properties": {"id": {"type": "integer"}, "filename": {"type": "string", "nullable": True},
                                         "size": {"type": "integer"}, "sha256": {"type": "string"}}}  # fmt: skip
REPLY = {"type": "object", "properties": {
    "id": {"type": "integer"}, "text": {"type": "string"}, "sha256": {"type": "string"},
    "at": {"type": "string", "format": "date-time"}, "files": {"type": "array", "items": FILE}}}  # fmt: skip
CLARIFICATION = {"type": "object", "properties": {
    "id": {"type": "integer"}, "application_id": {"type": "integer"}, "question": {"type": "string"},
    "reply_by": {"type": "string", "format": "date-time"}, "asked_at": {"type": "string", "format": "date-time"},
    "status": {"type": "string", "enum": ["open", "answered", "closed"]},
    "replies": {"type": "array", "items": REPLY}}}  # fmt: skip
LIST = {"type": "object", "properties": {"items": {"type": "array", "items": CLARIFICATION}}}


def reply_json(reply, *, blind: bool = False) -> dict:
    return {"id": reply.id, "text": reply.text, "sha256": reply.sha256, "at": reply.at.isoformat(),
            "files": [{"id": f.id, "filename": None if blind else f.filename, "size": f.size, "sha256": f.sha256}
                      for f in reply.files]}  # fmt: skip


def clarification_json(item, *, blind: bool = False) -> dict:
    return {"id": item.id, "application_id": item.application_id, "question": item.question,
            "reply_by": item.reply_by.isoformat(), "asked_at": item.asked_at.isoformat(), "status": str(item.status),
            "replies": [reply_json(r, blind=blind) for r in item.replies]}  # fmt: skip


@endpoint("/applications/<int:app_id>/clarifications", "POST", summary="Ask the consortium for more information",
          roles=MANAGERS, tag="applications", status=201, body=ASK_BODY, response=CLARIFICATION)  # fmt: skip
def ask_clarification(app_id: int):
    user = current_api_user()
    app, _seen = rules.get_application_or_404(app_id, user)
    payload = body()
    item = services.ask(user, app, question=payload["question"], reply_by=payload["reply_by"])
    return jsonify(clarification_json(item)), 201


@endpoint("/clarifications/<int:clarification_id>/reply", "POST",
          summary="Answer a clarification request (the lead; multipart `text`, `file`): an addendum with its SHA-256",
          tag="applications", status=201, body=REPLY_BODY, response=REPLY)  # fmt: skip
def reply_clarification(clarification_id: int):
    from flask import abort

    user = current_api_user()
    item, seen = rules.get_clarification_or_404(clarification_id, user)
    if not seen.lead:
        abort(404)
    answer = services.reply(user, item, text=body().get("text"), files=request.files.getlist("file"))
    return jsonify(reply_json(answer)), 201


@endpoint("/clarifications/<int:clarification_id>/close", "POST", summary="Close a clarification request (no more answers)",
          roles=MANAGERS, tag="applications", response=CLARIFICATION)  # fmt: skip
def close_clarification(clarification_id: int):
    user = current_api_user()
    item, _seen = rules.get_clarification_or_404(clarification_id, user)
    return jsonify(clarification_json(services.close(user, item)))


@endpoint("/applications/<int:app_id>/clarifications", "GET",
          summary="Clarification requests and their answers (managers, the consortium, assigned reviewers)",
          tag="applications", response=LIST)  # fmt: skip
def list_clarifications(app_id: int):
    app, seen = rules.get_application_or_404(app_id, current_api_user())
    return jsonify({"items": [clarification_json(i, blind=seen.blind) for i in services.thread(app)]})
