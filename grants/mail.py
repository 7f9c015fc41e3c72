"""Email: rendered in the recipient's language, queued after commit, sent by SMTP or,
in the embedded mode, written as .eml files to the outbox folder."""

from __future__ import annotations

import smtplib
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from .core.tasks import enqueue_after_commit
from .core.urls import base_url
from .extensions import db


def _recipient_name(to: str | None) -> str | None:
    if not to:
        return None
    from sqlalchemy import func, select

    from .accounts.models import User

    return db.session.execute(select(User.name).where(func.lower(User.email) == to.lower())).scalar_one_or_none()


def render(template: str, locale: str, to: str | None = None, **context) -> dict:
    """Render templates/emails/<template>.{txt,html} and its subject in `locale`, in the one
    layout every email has: a greeting (by name when the recipient has an account), the body,
    and the programme's sign-off."""
    from flask_babel import gettext as _

    with force_locale(locale):
        context.setdefault("base_url", base_url())
        name = _recipient_name(to)
        context["greeting"] = _("Hello, %(name)s!", name=name) if name else _("Hello!")
        context["signoff"] = _("Kind regards,\nthe team of the small grants programme")
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        subject_line, _sep, body = text.partition("\n")
    body = f"{context['greeting']}\n\n{body.strip()}\n\n{context['signoff']}\n"
    return {"subject": subject_line.removeprefix("Subject: ").strip(), "text": body, "html": html, "language": locale}


UNFOLDED = policy.default.clone(max_line_length=998)


def build(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict | None = None,
    attachments: list[dict] | None = None,
    message_id: str | None = None,
    language: str | None = None,
) -> EmailMessage:
    """`attachments`: [{"filename", "content_type", "data": bytes}]. `message_id` lets a retry
    of the same notification carry the same Message-ID, so mail clients show it once.

    Headers are not folded (RFC 5322 allows 998 characters a line): folding a long Cyrillic
    subject splits it into encoded words at a space, and mail readers drop that space when
    they join the words again («оценки— через 2 дня»)."""
    msg = EmailMessage(policy=UNFOLDED)
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id or make_msgid(domain="grants.local")
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for item in attachments or []:
        maintype, _slash, subtype = item["content_type"].partition("/")
        msg.add_attachment(item["data"], maintype=maintype, subtype=subtype, filename=item["filename"])
    if language:  # after the body: setting the content replaces Content-* headers
        msg["Content-Language"] = language
    return msg


def deliver(message: dict) -> None:
    """Send one message now (called by the worker task)."""
    msg = build(**message)
    config = current_app.config
    if config["MAIL_SERVER"]:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
        return
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    name = f"{formatdate(usegmt=True).replace(' ', '_').replace(',', '').replace(':', '')}-{uuid.uuid4().hex[:8]}.eml"
    (outbox / name).write_bytes(bytes(msg))


# Which object a message is about, from what it was rendered with (for "what we told them").
ABOUT = (("app", "application"), ("application", "application"), ("award", "award"), ("decision", "decision"),
         ("consortium", "consortium"), ("organization", "organization"), ("call", "call"), ("user", "user"))  # fmt: skip


def _about(context: dict) -> tuple[str, int]:
    for name, object_type in ABOUT:
        obj = context.get(name)
        if getattr(obj, "id", None) is not None:
            return object_type, obj.id
    return "message", 0


def queue(message: dict, *, kind: str, about: tuple[str, int], language: str):
    """Log one rendered message in the outbound log (a notification row, written in the caller's
    transaction) and send it through the same claim as alerts once committed: a lost task or a
    dead worker delays it (the sweep sends it again) and never repeats or loses it, and an admin
    can resend it. Attachments are stored by reference (`path` under the upload folder) or, when
    small, as `data_base64`."""
    from .alerts.models import Notification

    note = Notification(key=f"message:{kind}:{uuid.uuid4().hex}", kind=kind[:40], object_type=about[0],
                        object_id=about[1], recipient=message["to"][:254], language=language[:2],
                        payload=message, subject=message.get("subject", "")[:300])  # fmt: skip
    db.session.add(note)
    db.session.flush()
    note_id = note.id

    enqueue_after_commit("grants.send_notification", note_id)
    return note


def send(to: str, template: str, locale: str, headers: dict | None = None, **context) -> None:
    """Render now (in the recipient's language), log it, hand it to the worker after the commit."""
    message = render(template, locale, to=to, **context)
    message.update(to=to, headers=headers or {})
    queue(message, kind=template, about=_about(context), language=locale)


def deliver_logged(payload: dict, message_id: str) -> None:
    """Send a logged message (its attachments read back from where they are kept)."""
    import base64

    from .core.storage import storage

    attachments = []
    for item in payload.get("attachments") or []:
        data = storage().get(item["path"]) if item.get("path") else base64.b64decode(item["data_base64"])
        attachments.append({"filename": item["filename"], "content_type": item["content_type"], "data": data})
    message = {k: payload[k] for k in ("to", "subject", "text", "html", "headers", "language") if k in payload}
    deliver(message | {"attachments": attachments, "message_id": message_id})
