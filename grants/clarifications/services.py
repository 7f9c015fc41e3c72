"""Asking, answering and closing clarification requests. The submission stays frozen: each answer
is an addendum with its own SHA-256 over the canonical JSON `{"files": [<file SHA-256>, ...],
"text": <answer>}` (sorted keys, no spaces, UTF-8), so anyone holding the text and the files can
check it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from .. import mail
from ..applications import lifecycle as app_lifecycle
from ..applications.models import Application
from ..applications.submission import canonical
from ..audit.services import record
from ..calls.cleaning import parse_time
from ..consortia.rules import acts_for_lead, lead_members
from ..core import clock, uploads
from ..core.db import lock, transactional
from ..core.errors import Conflict, Forbidden, ValidationFailed
from ..core.urls import external_url
from ..core.validation import FieldErrors
from ..extensions import db
from ..i18n import format_datetime
from . import lifecycle
from .models import Clarification, ClarificationFile, ClarificationReply

MAX_QUESTION = 5000
MAX_ANSWER = 20000
MAX_FILES = 5
LONGEST_WAIT = timedelta(days=90)


def thread(app: Application) -> list[Clarification]:
    """The application's requests, oldest first, with their answers."""
    from sqlalchemy.orm import lazyload

    # The application is the one the page already has (its call and consortium too): not joined again.
    return list(db.session.execute(select(Clarification).filter_by(application_id=app.id)
                                   .options(lazyload(Clarification.application))
                                   .order_by(Clarification.id)).scalars())  # fmt: skip


def addendum_sha256(text: str, file_hashes: list[str]) -> str:
    return hashlib.sha256(canonical({"files": list(file_hashes), "text": text}).encode()).hexdigest()


@transactional
def ask(actor, app: Application, *, question, reply_by) -> Clarification:
    """A manager asks the consortium for more information on a submitted application (never on a
    draft or a withdrawn one), with a reply deadline in the future (at most 90 days ahead). The
    lead's members are emailed, each in their language."""
    if not getattr(actor, "is_manager", False):
        raise Forbidden(_("Only a programme manager can ask for a clarification."), code="not_manager")
    lock(app)
    if not app_lifecycle.is_submitted(app):
        raise Conflict(_("Clarifications can be requested only on a submitted application."), code="not_submitted")
    errors = FieldErrors()
    question = question.strip() if isinstance(question, str) else ""
    if not question:
        errors.add("question", _("Write the question."))
    elif len(question) > MAX_QUESTION:
        errors.add("question", _("At most %(n)d characters.", n=MAX_QUESTION))
    moment = parse_time(reply_by, "reply_by", errors) if reply_by not in (None, "") else None
    if reply_by in (None, ""):
        errors.add("reply_by", _("Set the date by which the applicant should answer."))
    now = clock.now()
    if moment is not None and moment <= now:
        errors.add("reply_by", _("The reply deadline must be in the future."))
    elif moment is not None and moment > now + LONGEST_WAIT:
        errors.add("reply_by", _("The reply deadline can be at most %(days)d days ahead.", days=LONGEST_WAIT.days))
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=dict(errors))
    item = Clarification(application_id=app.id, question=question, reply_by=moment, asked_by_id=actor.id,
                         asked_at=now)  # fmt: skip
    db.session.add(item)
    db.session.flush()
    record(actor, "clarification.asked", "clarification", item.id,
           after={"application": app.id, "reply_by": moment, "status": str(lifecycle.Status.OPEN)})  # fmt: skip
    link = external_url("clarifications.thread", app_id=app.id)
    for person in lead_members(app.consortium):
        mail.send(person.email, "clarification_request", person.locale, user=person, app=app, item=item, link=link)
    return item


@transactional
def reply(actor, item: Clarification, *, text, files=()) -> ClarificationReply:
    """The lead answers (text and optional files) while the request is open and before reply_by.
    The request's row lock orders an answer and a manager's close: an answer is stored only if the
    request was still answerable when it was checked under the lock."""
    app = item.application
    if not acts_for_lead(actor, app.consortium):
        raise Forbidden(_("Only a member of the lead organization can answer for the consortium."), code="not_lead")
    text = text.strip() if isinstance(text, str) else ""
    files = [f for f in files or () if f is not None and getattr(f, "filename", "")]
    if not text:
        raise ValidationFailed(_("Write the answer."), fields={"text": [_("This field is required.")]})
    if len(text) > MAX_ANSWER:
        raise ValidationFailed(_("At most %(n)d characters.", n=MAX_ANSWER), fields={"text": [_("Too long.")]})
    if len(files) > MAX_FILES:
        raise ValidationFailed(_("At most %(n)d files per answer.", n=MAX_FILES),
                               fields={"file": [_("Too many files.")]})  # fmt: skip
    lock(item)
    if lifecycle.is_closed(item):
        raise Conflict(_("This request has been closed by the programme manager; answers are no longer accepted."),
                       code="clarification_closed")  # fmt: skip
    now = clock.received_at()  # when the answer reached us, as for a submission at its deadline
    if now > item.reply_by:
        raise Conflict(_("The time to answer ended on %(when)s. Ask the programme manager for a new request.",
                         when=format_datetime(item.reply_by)), code="reply_late")  # fmt: skip
    stored = [uploads.store(f, folder="clarifications") for f in files]
    digest = addendum_sha256(text, [s.sha256 for s in stored])
    answer = ClarificationReply(clarification_id=item.id, text=text, sha256=digest, by_id=actor.id, at=now)
    db.session.add(answer)
    db.session.flush()
    for s in stored:
        db.session.add(ClarificationFile(reply_id=answer.id, filename=s.filename, path=s.path, size=s.size,
                                         sha256=s.sha256, content_type=s.content_type, uploaded_by_id=actor.id))  # fmt: skip
    db.session.flush()
    lifecycle.transition(item, "answered", actor, locked=True, reply=answer.id, sha256=digest)
    db.session.refresh(item, ["replies"])
    return answer


@transactional
def close(actor, item: Clarification) -> Clarification:
    """A manager closes the request: no more answers; what was answered stays in the addenda."""
    if not getattr(actor, "is_manager", False):
        raise Forbidden(_("Only a programme manager can close a request."), code="not_manager")
    lock(item)
    item.closed_at = clock.now()
    lifecycle.transition(item, "closed", actor, locked=True)
    return item


def addenda(app: Application, *, blind: bool = False) -> list[dict]:
    """Plain values for the application PDF: each request with its answers (blind: no file names)."""
    out = []
    for item in thread(app):
        out.append({
            "question": item.question, "asked_at": item.asked_at, "reply_by": item.reply_by,
            "status": lifecycle.label(item.status),
            "replies": [{
                "text": r.text, "at": r.at, "sha256": r.sha256,
                "files": [{"name": None if blind else f.filename, "size": f.size, "sha256": f.sha256} for f in r.files],
            } for r in item.replies],
        })  # fmt: skip
    return out
