"""How the "call_answer" alert reads (registered in grants/alerts/kinds.py): the published answer,
in the recipient's language, with the subscriber's unsubscribe link when there is one."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import mail
from ..extensions import db
from . import lifecycle
from .models import CallQuestion


def _question(note):
    from ..calls import rules as call_rules
    from ..calls.models import Call

    question = db.session.get(CallQuestion, note.object_id)
    if question is None or not lifecycle.is_published(question):
        return None, None
    call = db.session.get(Call, question.call_id)
    if call is None or not call_rules.can_see(None, call):
        return None, None
    return question, call


def render(note) -> dict | None:
    from ..accounts.models import User
    from ..core.urls import external_url
    from ..subscriptions.models import Subscription
    from ..subscriptions.services import unsubscribe_headers, unsubscribe_url

    question, call = _question(note)
    if question is None:
        return None
    asker = db.session.get(User, question.asked_by_id) if question.asked_by_id else None
    is_asker = asker is not None and asker.email.lower() == note.recipient.lower()
    sub = db.session.execute(select(Subscription).where(func.lower(Subscription.email) == note.recipient.lower())
                             ).scalars().first()  # fmt: skip
    sub = sub if sub is not None and sub.active else None
    link = external_url("calls.show", call_id=call.id) + f"#question-{question.id}"
    message = mail.render("question_answer", note.language, to=note.recipient, question=question, call=call,
                          link=link, is_asker=is_asker, answer=question.answer_in(note.language),
                          unsubscribe=unsubscribe_url(sub) if sub else None)  # fmt: skip
    return message | {"to": note.recipient, "headers": unsubscribe_headers(sub) if sub else {}}


def short(note) -> dict | None:
    from ..core.urls import external_url

    question, call = _question(note)
    if question is None:
        return None
    with force_locale(note.language):
        text = str(_l("%(code)s: a question about the call has been answered.")) % {"code": call.code}
    return {"text": text, "link": external_url("calls.show", call_id=call.id) + f"#question-{question.id}"}
