"""Questions about a call: asked privately, answered by a manager (published on the call page and
sent once to the call's subscribers, the owners of its drafts and the asker), or rejected with a
reason that only the asker is told."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.services import record
from ..core import clock
from ..core.db import transactional
from ..core.errors import Forbidden, ValidationFailed
from ..core.tasks import enqueue_after_commit
from ..extensions import db
from . import lifecycle, rules
from .models import LANGUAGES, CallQuestion

MAX_QUESTION = 2000
MAX_ANSWER = 10000
KIND = "call_answer"  # the alert kind (grants/alerts/kinds.py): claimed once per question and person


def _clean(value) -> str:
    return value.strip() if isinstance(value, str) else ""


@transactional
def ask(actor, call, text: str) -> CallQuestion:
    """Anyone signed in asks about a public call; nobody but the managers sees it until answered."""
    if not rules.can_ask(actor, call):
        raise Forbidden(_("Questions can be asked about published calls only."), code="not_allowed")
    text = _clean(text)
    if not text:
        raise ValidationFailed(_("Write your question."), fields={"text": [_("This field is required.")]})
    if len(text) > MAX_QUESTION:
        message = _("At most %(n)d characters.", n=MAX_QUESTION)
        raise ValidationFailed(message, fields={"text": [message]})
    question = CallQuestion(call_id=call.id, asked_by_id=actor.id, text=text, created_at=clock.now())
    db.session.add(question)
    db.session.flush()
    record(actor, "question.asked", "question", question.id, after={"call": call.id})
    return question


def _answer_texts(answer) -> dict[str, str]:
    """{kk, ru, en} with at least one language written, each within the limit."""
    answer = answer if isinstance(answer, dict) else {}
    texts = {lang: _clean(answer.get(lang)) for lang in LANGUAGES}
    if not any(texts.values()):
        message = _("Write the answer in at least one language.")
        raise ValidationFailed(message, fields={"answer": [message]})
    too_long = {
        lang: [_("At most %(n)d characters.", n=MAX_ANSWER)] for lang, t in texts.items() if len(t) > MAX_ANSWER
    }
    if too_long:
        raise ValidationFailed(_("Please correct the marked fields."), fields=too_long)
    return texts


def _public_text(question: CallQuestion, public_text) -> str:
    text = _clean(public_text)
    if len(text) > MAX_QUESTION:
        message = _("At most %(n)d characters.", n=MAX_QUESTION)
        raise ValidationFailed(message, fields={"public_text": [message]})
    return text or question.public_text or question.text


@transactional
def answer(actor, question: CallQuestion, answer: dict, public_text: str | None = None) -> CallQuestion:
    """Publish the answer (and the question as the manager worded it) once. Two managers at once:
    the row lock orders them and the second is refused (409), so the answer is sent once."""
    if not rules.can_manage_questions(actor):
        raise Forbidden(_("Only programme managers answer questions."), code="not_allowed")
    texts = _answer_texts(answer)
    wording = _public_text(question, public_text)
    lifecycle.transition(question, "answer", actor)  # locks the row, refuses an answered one
    question.answer, question.public_text = texts, wording
    question.answered_at, question.answered_by_id = clock.now(), actor.id
    _send_answer(question)
    return question


@transactional
def edit_answer(actor, question: CallQuestion, answer: dict, public_text: str | None = None) -> CallQuestion:
    """Correct a published answer; it is not sent again (the claims already exist)."""
    if not rules.can_manage_questions(actor):
        raise Forbidden(_("Only programme managers answer questions."), code="not_allowed")
    texts = _answer_texts(answer)
    wording = _public_text(question, public_text)
    lifecycle.transition(question, "edit", actor)
    question.answer, question.public_text = texts, wording
    return question


@transactional
def reject(actor, question: CallQuestion, reason: str) -> CallQuestion:
    """Not published; the reason goes to the asker only."""
    from .. import mail
    from ..accounts.models import User
    from ..calls.models import Call
    from ..core.urls import external_url

    if not rules.can_manage_questions(actor):
        raise Forbidden(_("Only programme managers answer questions."), code="not_allowed")
    reason = _clean(reason)
    if not reason:
        message = _("Give the reason; only the person who asked will read it.")
        raise ValidationFailed(message, fields={"reason": [message]})
    if len(reason) > MAX_QUESTION:
        message = _("At most %(n)d characters.", n=MAX_QUESTION)
        raise ValidationFailed(message, fields={"reason": [message]})
    lifecycle.transition(question, "reject", actor)
    question.reason = reason
    asker = db.session.get(User, question.asked_by_id) if question.asked_by_id else None
    if asker is not None and asker.disabled_at is None:
        mail.send(asker.email, "question_rejected", asker.locale, question=question,
                  call=db.session.get(Call, question.call_id), link=external_url("calls.show", call_id=question.call_id))  # fmt: skip
    return question


def recipients(question: CallQuestion) -> dict[str, str]:
    """{email: language}: the call's confirmed subscribers, the members of lead organizations with
    an unsubmitted application to the call, and the asker."""
    from ..accounts.models import User
    from ..alerts.kinds import UNSUBMITTED
    from ..applications.models import Application
    from ..calls.models import Call
    from ..consortia.models import Consortium
    from ..consortia.rules import lead_member_query
    from ..subscriptions.models import Subscription
    from ..subscriptions.services import matching_query

    call = db.session.get(Call, question.call_id)
    people: dict[str, str] = {}
    subscribers = matching_query(call).with_only_columns(Subscription.email, Subscription.language)
    owners = (
        lead_member_query(User.email, User.locale).distinct()
        .join(Application, Application.consortium_id == Consortium.id)
        .where(Application.call_id == call.id, Application.status.in_(UNSUBMITTED), User.disabled_at.is_(None))
    )  # fmt: skip
    asker = select(User.email, User.locale).where(User.id == question.asked_by_id, User.disabled_at.is_(None))
    for query in (subscribers, owners, asker):
        for email, language in db.session.execute(query).all():
            people.setdefault(email.lower(), language or "ru")
    return people


def _send_answer(question: CallQuestion) -> list[int]:
    """Claim the answer's email for each person once (the key holds the question's id), and send
    the claims after the commit."""
    from ..alerts.registry import claim

    ids = claim(KIND, object_type="call_question", object_id=question.id, offset_days=0, due_at=None,
                recipients=recipients(question), now=clock.now())  # fmt: skip
    if ids:
        for note_id in ids:
            enqueue_after_commit("grants.send_notification", note_id)
    return ids


# --- reading ----------------------------------------------------------------------------------


def published(call_id: int) -> list[CallQuestion]:
    """Answered questions of the call, newest answer first."""
    query = select(CallQuestion).where(CallQuestion.call_id == call_id, CallQuestion.status.in_(lifecycle.PUBLISHED))
    return list(db.session.execute(query.order_by(CallQuestion.answered_at.desc(), CallQuestion.id.desc())).scalars())


def for_managers(call_id: int) -> tuple[list[CallQuestion], list[CallQuestion]]:
    """(pending, oldest first; answered or rejected, newest first)."""
    rows = db.session.execute(select(CallQuestion).where(CallQuestion.call_id == call_id)
                              .order_by(CallQuestion.id)).scalars().all()  # fmt: skip
    pending = [q for q in rows if lifecycle.is_pending(q)]
    done = [q for q in reversed(rows) if not lifecycle.is_pending(q)]
    return pending, done


def mine(user, call_id: int) -> list[CallQuestion]:
    """The signed-in person's own questions to the call that are not published (yet)."""
    if not getattr(user, "is_authenticated", False):
        return []
    query = select(CallQuestion).where(CallQuestion.call_id == call_id, CallQuestion.asked_by_id == user.id,
                                       CallQuestion.status.not_in(lifecycle.PUBLISHED))  # fmt: skip
    return list(db.session.execute(query.order_by(CallQuestion.id.desc())).scalars())


def pending_counts() -> dict[int, int]:
    """{call id: questions waiting for an answer}, in one query (the managers' list of calls)."""
    query = (select(CallQuestion.call_id, func.count()).where(CallQuestion.status.in_(lifecycle.PENDING))
             .group_by(CallQuestion.call_id))  # fmt: skip
    return dict(db.session.execute(query).all())


def question_json(question: CallQuestion, locale: str, *, manager: bool = False) -> dict:
    data = {"id": question.id, "call_id": question.call_id, "status": str(question.status),
            "question": question.question_text(), "answer": question.answer_in(locale) or None,
            "answered_at": question.answered_at.isoformat() if question.answered_at else None}  # fmt: skip
    if manager:
        data["answers"] = dict(question.answer or {})
    return data
