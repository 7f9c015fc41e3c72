"""Sending a broadcast: the segment resolved in one query, one logged message per person (each in
their own language), and exactly once per form: the form's `client_token` is unique, so a second
post of the same form (a double click, a resend) finds the first broadcast and sends nothing."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import mail
from ..audit.services import record
from ..core import clock
from ..core.db import transactional
from ..core.errors import Forbidden, ValidationFailed
from ..extensions import db
from . import rules
from .models import LANGUAGES, SEGMENTS, Broadcast

MAX_SUBJECT = 200
MAX_BODY = 10000
KIND = "broadcast"
PREVIEW = 20


def _clean(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def segment_query(segment: str, call_id: int | None):
    """SELECT email, locale of every person in the segment (ONE query, never one per person)."""
    from ..accounts.models import User
    from ..applications import lifecycle
    from ..applications.models import Application
    from ..awards.models import Award
    from ..consortia.models import Consortium
    from ..consortia.rules import lead_member_query
    from ..reviews.models import Assignment

    if segment in ("applicants", "drafts", "grantees"):
        query = lead_member_query(User.email, User.locale).join(Application, Application.consortium_id == Consortium.id)
        if segment == "applicants":
            query = query.where(Application.status.in_([str(s) for s in lifecycle.SUBMITTED]))
        elif segment == "drafts":
            query = query.where(Application.status.in_([str(s) for s in lifecycle.EDITABLE]))
        else:
            query = query.join(Award, Award.application_id == Application.id)
        if call_id is not None:
            query = query.where(Application.call_id == call_id)
    elif call_id is not None:  # reviewers assigned to the call's applications
        query = (select(User.email, User.locale).join(Assignment, Assignment.reviewer_id == User.id)
                 .join(Application, Application.id == Assignment.application_id)
                 .where(Application.call_id == call_id))  # fmt: skip
    else:  # every reviewer
        query = select(User.email, User.locale).where(User.roles_text.like("%reviewer%"))
    return query.where(User.disabled_at.is_(None)).distinct().order_by(User.email)


def recipients(segment: str, call_id: int | None) -> list[tuple[str, str]]:
    """[(email, locale)], each address once (case-insensitive)."""
    seen, people = set(), []
    for email, locale in db.session.execute(segment_query(segment, call_id)).all():
        if email and email.lower() not in seen:
            seen.add(email.lower())
            people.append((email, locale or "ru"))
    return people


def _texts(value, limit: int, field: str) -> dict[str, str]:
    value = value if isinstance(value, dict) else {}
    texts = {lang: _clean(value.get(lang)) for lang in LANGUAGES}
    too_long = {f"{field}_{lang}": [_("At most %(n)d characters.", n=limit)]
                for lang, text in texts.items() if len(text) > limit}  # fmt: skip
    if too_long:
        raise ValidationFailed(_("Please correct the marked fields."), fields=too_long)
    return texts


def validate(actor, segment, call_id, subject, body) -> tuple[dict, dict]:
    """The checked texts; refuses (422) an unknown segment, an unknown call and a message with no
    language that has both a subject and a text."""
    from ..calls.models import Call

    if not rules.can_broadcast(actor):
        raise Forbidden(_("Only programme managers send messages to groups of people."), code="not_allowed")
    if segment not in SEGMENTS:
        message = _("Choose who receives the message.")
        raise ValidationFailed(message, fields={"segment": [message]})
    if call_id is not None and db.session.get(Call, call_id) is None:
        message = _("No such call.")
        raise ValidationFailed(message, fields={"call_id": [message]})
    if segment in ("applicants", "drafts") and call_id is None:
        message = _("Choose the call.")
        raise ValidationFailed(message, fields={"call_id": [message]})
    subjects, bodies = _texts(subject, MAX_SUBJECT, "subject"), _texts(body, MAX_BODY, "body")
    if not any(subjects[lang] and bodies[lang] for lang in LANGUAGES):
        message = _("Write the subject and the text in at least one language.")
        raise ValidationFailed(message, fields={"subject": [message]})
    return subjects, bodies


@transactional
def send_broadcast(actor, *, segment, call_id, subject, body, client_token) -> tuple[Broadcast, bool]:
    """(the broadcast, whether it was sent now). The same `client_token` again answers the first
    broadcast (sent already or being sent by a concurrent request: the unique index waits for it)."""
    subjects, bodies = validate(actor, segment, call_id, subject, body)
    token = _clean(client_token)[:64]
    if not token:
        message = _("The form has expired. Please reload the page and try again.")
        raise ValidationFailed(message, fields={"client_token": [message]})
    existing = db.session.execute(select(Broadcast).where(Broadcast.client_token == token)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    broadcast = Broadcast(client_token=token, call_id=call_id, segment=segment, subject=subjects, body=bodies,
                          created_by_id=actor.id, created_at=clock.now())  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(broadcast)
            db.session.flush()
    except IntegrityError:  # the same form posted at once: the other request made it
        existing = db.session.execute(select(Broadcast).where(Broadcast.client_token == token)).scalar_one()
        return existing, False
    people = recipients(segment, call_id)
    for email, locale in people:
        message = mail.render("broadcast", locale, to=email, subject=broadcast.text_in("subject", locale),
                              text=broadcast.text_in("body", locale))  # fmt: skip
        message.update(to=email, headers={})
        mail.queue(message, kind=KIND, about=("broadcast", broadcast.id), language=locale)
    broadcast.sent_count = len(people)
    record(actor, "broadcast.sent", "broadcast", broadcast.id,
           after={"segment": segment, "call": call_id, "count": len(people)})  # fmt: skip
    return broadcast, True


def listing() -> list[Broadcast]:
    return list(db.session.execute(select(Broadcast).order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
                                   .limit(200)).scalars())  # fmt: skip


def count() -> int:
    return db.session.execute(select(func.count(Broadcast.id))).scalar_one()
