"""Who may ask, see and answer questions about a call: the one place for these rules."""

from __future__ import annotations

from flask import abort

from ..calls import rules as call_rules
from ..extensions import db
from . import lifecycle
from .models import CallQuestion


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_ask(user, call) -> bool:
    """Anyone signed in may ask about a call everyone can see (published and later)."""
    return _signed_in(user) and call_rules.can_see(None, call)


def can_manage_questions(user, call=None) -> bool:
    """Programme managers see pending questions, answer or reject them."""
    return call_rules.can_manage(user) and (call is None or call_rules.can_see(user, call))


def can_read(user, question: CallQuestion) -> bool:
    """An answered question is public (without who asked); the others are the managers' own."""
    return lifecycle.is_published(question) or can_manage_questions(user)


def can_answer(user, question: CallQuestion) -> bool:
    return can_manage_questions(user) and lifecycle.machine.can(question, "answer")


def can_edit_answer(user, question: CallQuestion) -> bool:
    return can_manage_questions(user) and lifecycle.machine.can(question, "edit")


def can_reject(user, question: CallQuestion) -> bool:
    return can_manage_questions(user) and lifecycle.machine.can(question, "reject")


def get_question_or_404(question_id: int, user) -> CallQuestion:
    """The question, if `user` may read it; otherwise 404 (pending ones exist for managers only)."""
    question = db.session.get(CallQuestion, question_id)
    if question is None or not can_read(user, question):
        abort(404)
    return question


def template_helpers() -> dict:
    """The predicates templates ask, bound to the signed-in user."""
    from flask_login import current_user

    def bind(predicate):
        return lambda *args: predicate(current_user, *args)

    return {
        "can_ask_question": bind(can_ask), "can_manage_questions": bind(can_manage_questions),
        "can_answer_question": bind(can_answer), "can_edit_question_answer": bind(can_edit_answer),
        "can_reject_question": bind(can_reject), "question_label": lifecycle.label,
    }  # fmt: skip
