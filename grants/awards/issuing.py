"""Issuing award letters: one letter per issue (the award is locked, a repeated issue is skipped),
the decided values frozen in a snapshot, the PDF stored with its SHA-256 and a public verification
code, and the email sent only after the commit."""

from __future__ import annotations

import hashlib
import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..audit.services import record
from ..consortia.rules import lead_member_query
from ..core import clock, storage
from ..core.db import transactional
from ..core.errors import Conflict
from ..extensions import db
from ..organizations.models import Membership
from ..reviews.models import Decision
from . import lifecycle
from .models import Award, Letter
from .services import lock_award


def lead_language(award: Award) -> str:
    row = db.session.execute(
        lead_member_query(User.locale, consortium=award.application.consortium)
        .order_by(Membership.role.desc(), Membership.id).limit(1)
    ).scalar_one_or_none()  # fmt: skip
    return row or "ru"


def latest_version(award: Award) -> int:
    return max((item.version for item in award.letters), default=0)


@transactional
def issue_letter(actor, award: Award, language: str | None = None, *, seen_version: int = 0) -> Letter | None:
    """Freeze what was decided (snapshot), render the letter from it (lead's language by default),
    store it with its SHA-256 and a new verification code; an earlier version stays, marked
    superseded. `seen_version` is the latest version the caller saw (0: none): when another request
    issued one meanwhile (a double click, two jobs), nothing is issued and None is returned. The
    email goes out only after the commit."""
    from .letters import render_letter, snapshot_of

    lock_award(award)
    if latest_version(award) != int(seen_version or 0):
        return None
    app = award.application
    if db.session.execute(select(Decision.outcome).filter_by(application_id=app.id)).scalar_one_or_none() != "award":
        raise Conflict(_("This application has no award decision."), code="not_awarded")
    language = language if language in ("kk", "ru", "en") else lead_language(award)
    code = secrets.token_hex(6).upper()
    version = latest_version(award) + 1
    snapshot = snapshot_of(award)
    data = render_letter(snapshot, language, code, version)
    digest = hashlib.sha256(data).hexdigest()
    relative = f"letters/{award.id}-v{version}-{code}.pdf"
    storage.save(relative, data, "application/pdf")
    now = clock.now()
    for old in award.letters:
        if old.superseded_at is None:
            old.superseded_at = now
    letter = Letter(version=version, language=language, verification_code=code, path=str(relative), sha256=digest,
                    issued_at=now, issued_by_id=getattr(actor, "id", None), snapshot=snapshot)  # fmt: skip
    award.letters.append(letter)
    db.session.flush()
    record(actor, "award.letter_issued", "award", award.id, after={"version": version, "sha256": digest, "code": code})
    lifecycle.refresh_tranches(award, actor)
    _letter_messages(award, letter)
    return letter


def _letter_messages(award: Award, letter: Letter) -> None:
    """Rendered now (in each recipient's language), logged, sent by the worker after the commit;
    the PDF is attached from where the letter is kept."""
    from .. import mail
    from ..core.urls import external_url

    rows = db.session.execute(lead_member_query(User.email, User.locale, consortium=award.application.consortium)).all()
    attachment = {"filename": f"letter-{award.agreement_number.replace('/', '-')}.pdf",
                  "content_type": "application/pdf", "path": letter.path}  # fmt: skip
    for email, locale in rows:
        message = mail.render("award_letter", locale, to=email, award=award, letter=letter,
                              link=external_url("awards.show", award_id=award.id),
                              verify=external_url("awards.verify", code=letter.verification_code))  # fmt: skip
        message.update(to=email, attachments=[attachment])
        mail.queue(message, kind="award_letter", about=("award", award.id), language=locale)


def find_letter(code: str) -> Letter | None:
    return db.session.execute(
        select(Letter).filter_by(verification_code=(code or "").strip().upper()[:40])
    ).scalar_one_or_none()


def letter_bytes(letter: Letter) -> bytes:
    return storage.storage().get(letter.path)


def letter_pdf(award: Award, letter: Letter, language: str | None) -> bytes:
    """The stored PDF, or the same frozen letter rendered in another language."""
    from .letters import render_letter, snapshot_for

    if language in ("kk", "ru", "en") and language != letter.language:
        return render_letter(snapshot_for(letter, award), language, letter.verification_code, letter.version)
    return letter_bytes(letter)
