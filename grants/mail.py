"""Email: rendered in the recipient's language, queued after commit, sent by SMTP or,
in the embedded mode, written as .eml files to the outbox folder."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template
from flask_babel import force_locale

from .core.db import on_commit


def render(template: str, locale: str, **context) -> dict:
    """Render templates/emails/<template>.{txt,html} and its subject in `locale`."""
    with force_locale(locale):
        context.setdefault("base_url", current_app.config["BASE_URL"])
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        subject_line, _, body = text.partition("\n")
    return {"subject": subject_line.removeprefix("Subject: ").strip(), "text": body.lstrip("\n"), "html": html}


def build(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: dict | None = None,
    attachments: list[dict] | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """`attachments`: [{"filename", "content_type", "data": bytes}]. `message_id` lets a retry
    of the same notification carry the same Message-ID, so mail clients show it once."""
    msg = EmailMessage()
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


def send(to: str, template: str, locale: str, headers: dict | None = None, **context) -> None:
    """Render now (in the recipient's language), hand to the worker after the commit."""
    message = render(template, locale, **context)
    message.update(to=to, headers=headers or {})

    def queue() -> None:
        from worker.tasks import send_email

        send_email.delay(message)

    on_commit(queue)
