"""Call Q&A: anyone signed in asks; answered questions are public; managers answer."""

from __future__ import annotations

from flask import abort, jsonify

from ..accounts.models import Role
from ..calls import rules as call_rules
from ..extensions import limiter
from ..i18n import current_locale
from ..questions import rules, services
from .core import current_api_user, endpoint
from .schema import Body, body, text

MANAGERS = (Role.MANAGER, Role.ADMIN)
QUESTION = {"type": "object", "properties": {
    "id": {"type": "integer"}, "call_id": {"type": "integer"},
    "status": {"type": "string", "enum": ["asked", "answered", "rejected"]},
    "question": {"type": "string"}, "answer": {"type": "string", "nullable": True},
    "answered_at": {"type": "string", "format": "date-time", "nullable": True}}}  # fmt: skip
QUESTION_LIST = {"type": "object", "properties": {"items": {"type": "array", "items": QUESTION},
                                                  "total": {"type": "integer"}}}  # fmt: skip
ASK_BODY = Body({"type": "object", "required": ["text"], "properties": {
    "text": text(services.MAX_QUESTION, description="the question; only managers read it until it is answered")}})  # fmt: skip
ANSWER_BODY = Body({"type": "object", "required": ["text"], "properties": {
    "text": {"type": "object", "properties": {lang: text(services.MAX_ANSWER) for lang in ("kk", "ru", "en")},
             "description": "the answer; at least one language (422 otherwise)"},
    "question": text(services.MAX_QUESTION, description="the question as published (default: as asked)")}})  # fmt: skip


def _per_caller() -> str:
    user = current_api_user()
    return f"user:{user.id}" if user is not None else "anonymous"


@endpoint("/calls/<int:call_id>/questions", "POST", summary="Ask a question about a call (published on answer)",
          tag="calls", status=201, body=ASK_BODY, response=QUESTION)  # fmt: skip
@limiter.limit("10 per hour;30 per day", key_func=_per_caller)
def ask_question(call_id: int):
    user = current_api_user()
    call = call_rules.get_call_or_404(call_id, user)
    if not rules.can_ask(user, call):
        abort(404)
    question = services.ask(user, call, body()["text"])
    return jsonify(services.question_json(question, current_locale())), 201


@endpoint("/calls/<int:call_id>/questions", "GET", summary="Answered questions about a call, newest first",
          auth="optional", tag="calls", response=QUESTION_LIST)  # fmt: skip
def list_questions(call_id: int):
    call = call_rules.get_call_or_404(call_id, current_api_user())
    items = [services.question_json(q, current_locale()) for q in services.published(call.id)]
    return jsonify({"items": items, "total": len(items)})


@endpoint("/questions/<int:question_id>/answer", "POST", summary="Answer a question: published and sent once",
          roles=MANAGERS, tag="calls", body=ANSWER_BODY, response=QUESTION)  # fmt: skip
def answer_question(question_id: int):
    user = current_api_user()
    question = rules.get_question_or_404(question_id, user)
    call_rules.get_call_or_404(question.call_id, user, "manage")
    payload = body()
    question = services.answer(user, question, payload["text"], payload.get("question"))
    return jsonify(services.question_json(question, current_locale(), manager=True))
