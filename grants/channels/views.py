"""The person's "Telegram and SMS" page and the Telegram bot's webhook."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..core.db import on_commit
from ..core.errors import ServiceError
from ..core.forms import apply_errors
from ..extensions import csrf, db, limiter
from . import rules, services, sms, telegram
from .forms import ActionForm, PhoneCodeForm, PhoneForm
from .models import CHANNELS

bp = Blueprint("channels", __name__, cli_group="telegram")

CHANNEL_LABELS = {"email": _l("Email"), "telegram": _l("Telegram"), "sms": _l("SMS")}
KIND_LABELS = {
    "announcement": _l("A new call for proposals (subscribers)"),
    "deadline": _l("Deadline of a call (subscribers)"),
    "draft_deadline": _l("My draft before the deadline"),
    "partner_confirm": _l("Confirming our part in a consortium"),
    "review_due": _l("My review before its due date"),
    "award_due": _l("Grant reports and tranches coming up"),
    "award_overdue": _l("Grant reports and tranches overdue"),
}


@bp.app_context_processor
def _labels() -> dict:
    """`channel_label` for every template (the notification log shows each row's channel)."""
    return {"channel_label": lambda channel: str(CHANNEL_LABELS.get(channel, channel))}


def kind_label(kind: str) -> str:
    KINDS = services.alert_kinds()  # noqa: N806
    return str(KIND_LABELS.get(kind) or KINDS[kind].description or kind)


def _per_person() -> str:
    """Rate limits of these pages count per signed-in person, not per IP address: many people
    share one address (a university, a mobile operator's NAT), and one person may change theirs."""
    return f"user:{current_user.get_id()}"


def _page(status: int = 200, *, code: str | None = None, phone_form=None, code_form=None, choice_errors=None):
    user = current_user._get_current_object()
    link, number, pending = services.telegram_link(user), services.phone_number(user), services.pending_phone(user)
    blocked = services.telegram_blocked(user) if link is None else None
    return render_template(
        "channels/channels.html", link=link, number=number, pending=pending, code=code, blocked=blocked,
        deep_link=telegram.deep_link(code) if code else None, code_minutes=services.TELEGRAM_CODE_LIFETIME.seconds // 60,
        telegram_on=telegram.configured(), sms_on=sms.configured(), choices=services.choices(user),
        channels=CHANNELS, channel_labels=CHANNEL_LABELS, kind_label=kind_label, mask=sms.mask,
        can_choose=lambda c: rules.can_choose(c, telegram_linked=link is not None, phone_verified=number is not None),
        phone_form=phone_form or PhoneForm(formdata=None), code_form=code_form or PhoneCodeForm(formdata=None),
        action=ActionForm(formdata=None), choice_errors=choice_errors or {},
    ), status  # fmt: skip


def _refused(error: ServiceError, form=None, **forms):
    if form is not None:
        apply_errors(form, error)
    else:
        flash(error.message, "error")
    return _page(error.status, choice_errors=error.fields, **forms)


@bp.route("/account/channels")
@login_required
def channels():
    return _page()


@bp.route("/account/channels/telegram", methods=["POST"])
@login_required
@limiter.limit("20 per hour", key_func=_per_person)
def telegram_code():
    """A new one-time code and deep link, shown once on the page (a reload asks for another)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        code = services.new_telegram_code(current_user._get_current_object())
    except ServiceError as error:
        return _refused(error)
    return _page(code=code)


@bp.route("/account/channels/telegram/unlink", methods=["POST"])
@login_required
def telegram_unlink():
    if not ActionForm().validate_on_submit():
        abort(400)
    services.unlink_telegram(current_user._get_current_object())
    flash(_("Telegram is no longer linked."), "success")
    return redirect(url_for("channels.channels"))


@bp.route("/account/channels/phone", methods=["POST"])
@login_required
@limiter.limit("10 per hour", key_func=_per_person)
def phone():
    """The code is sent once this request's transaction commits (no lock is held meanwhile); the
    page the person is sent to says whether the gateway took it."""
    form = PhoneForm()
    if not form.validate_on_submit():
        return _page(422, phone_form=form)
    try:
        sending = services.request_phone_code(current_user._get_current_object(), form.phone.data)
    except ServiceError as error:
        return _refused(error, form, phone_form=form)

    def tell() -> None:  # after the commit and the gateway's answer; the session cookie is saved later
        if sending.sent:
            flash(_("We sent a code to %(phone)s.", phone=sms.mask(sending.phone)), "success")
        else:
            flash(_("The SMS could not be sent. Please try again later."), "error")

    on_commit(tell)
    return redirect(url_for("channels.channels") + "#phone")


@bp.route("/account/channels/phone/verify", methods=["POST"])
@login_required
@limiter.limit("30 per hour", key_func=_per_person)
def phone_verify():
    form = PhoneCodeForm()
    if not form.validate_on_submit():
        return _page(422, code_form=form)
    try:
        services.verify_phone(current_user._get_current_object(), form.code.data)
    except ServiceError as error:
        return _refused(error, form, code_form=form)
    flash(_("Your phone number is verified."), "success")
    return redirect(url_for("channels.channels") + "#choices")


@bp.route("/account/channels/phone/remove", methods=["POST"])
@login_required
def phone_remove():
    if not ActionForm().validate_on_submit():
        abort(400)
    services.remove_phone(current_user._get_current_object())
    flash(_("The phone number is removed."), "success")
    return redirect(url_for("channels.channels"))


@bp.route("/account/channels/choices", methods=["POST"])
@login_required
def choices():
    """The table of alert kinds × channels: a ticked box is a channel chosen for that kind."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        abort(400)
    chosen = {kind: {c for c in CHANNELS if request.form.get(f"{kind}.{c}")} for kind in services.alert_kinds()}
    try:
        services.set_choices(current_user._get_current_object(), chosen)
    except ServiceError as error:
        return _refused(error)
    flash(_("Saved."), "success")
    return redirect(url_for("channels.channels") + "#choices")


@bp.route("/telegram/webhook/<secret>", methods=["POST"])
@csrf.exempt
@limiter.exempt
def webhook(secret: str):
    """Telegram's updates. The path must hold GRANTS_TELEGRAM_WEBHOOK_SECRET (else 404, as if there
    were no such page) and the X-Telegram-Bot-Api-Secret-Token header the token derived from it
    (`telegram.header_token`, given to Telegram by `flask telegram set-webhook`; else 403): the
    path alone, as an access log shows it, forges nothing. Every accepted update answers 200
    (else Telegram repeats it), with the bot's reply in the answer's body. No limit per IP
    address (every update comes from Telegram's few addresses): each chat is limited instead, in
    `services.handle_update`."""
    expected = current_app.config.get("TELEGRAM_WEBHOOK_SECRET") or ""
    if not expected or not telegram.configured() or not hmac.compare_digest(secret.encode(), expected.encode()):
        abort(404)
    header = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not hmac.compare_digest(header.encode(), telegram.header_token(expected).encode()):
        abort(403)
    update = request.get_json(silent=True)
    reply = services.handle_update(update) if isinstance(update, dict) else None
    db.session.flush()
    return jsonify(reply or {})


@bp.cli.command("set-webhook")
def set_webhook_command():
    """Point the bot's webhook at GRANTS_BASE_URL/telegram/webhook/<secret>, with the header token
    derived from the secret that Telegram sends back with every update (run once after deploying,
    or after a change of the secret)."""
    import click

    config = current_app.config
    if not telegram.configured() or not config.get("TELEGRAM_WEBHOOK_SECRET"):
        raise click.ClickException("set GRANTS_TELEGRAM_BOT_TOKEN, _BOT_USERNAME and _WEBHOOK_SECRET first")
    secret = config["TELEGRAM_WEBHOOK_SECRET"]
    url = f"{config['BASE_URL'].rstrip('/')}/telegram/webhook/{secret}"
    try:
        telegram.set_webhook(url, secret)
    except telegram.TelegramError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"webhook set: {config['BASE_URL'].rstrip('/')}/telegram/webhook/…")
