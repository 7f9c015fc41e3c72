"""Subscribing (double opt-in), confirming, unsubscribing, and who matches a call."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import and_, exists, or_, select

from .. import mail
from ..accounts.services import check_email
from ..audit.services import record
from ..calls.models import Call, CallRegion, Theme, call_theme
from ..core import clock
from ..core.db import lock, locked_get, transactional
from ..core.errors import ServiceError, ValidationFailed
from ..core.urls import external_url
from ..extensions import db
from ..i18n import LANGUAGES
from ..organizations.reference import REGIONS
from .models import Subscription, SubscriptionRegion, SubscriptionTheme

CONFIRM_MAX_AGE = 7 * 24 * 3600


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="subscription-confirm")


def _unsubscribe_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="subscription-unsubscribe")


def unsubscribe_url(subscription: Subscription) -> str:
    token = _unsubscribe_signer().dumps(subscription.id)
    return external_url("subscriptions.unsubscribe", token=token)


def unsubscribe_headers(subscription: Subscription) -> dict:
    """RFC 2369 / RFC 8058 one-click unsubscribe for mail clients."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscription)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def clean(*, email: str, language: str, regions, themes) -> dict:
    errors: dict[str, list[str]] = {}
    try:
        email = check_email(email)
    except ValidationFailed as error:
        errors.update(error.fields)
    if language not in LANGUAGES:
        errors["language"] = [_("Choose one of: Kazakh, Russian, English.")]
    regions = sorted({str(r) for r in regions or []})
    themes = sorted({str(t) for t in themes or []})
    if set(regions) - set(REGIONS):
        errors["regions"] = [_("Unknown region: %(codes)s.", codes=", ".join(sorted(set(regions) - set(REGIONS))))]
    known = set(db.session.execute(select(Theme.code)).scalars())
    if set(themes) - known:
        errors["themes"] = [_("Unknown theme: %(codes)s.", codes=", ".join(sorted(set(themes) - known)))]
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), fields=errors)
    return {"email": email, "language": language, "regions": regions, "themes": themes}


def _set_preferences(sub: Subscription, prefs: dict) -> None:
    sub.language = prefs["language"]
    sub.region_rows = [SubscriptionRegion(region=r) for r in prefs["regions"]]
    sub.theme_rows = [SubscriptionTheme(theme_code=t) for t in prefs["themes"]]


@transactional
def subscribe(*, email: str, language: str, regions=None, themes=None) -> Subscription:
    """Record the wish and email a confirmation link; nothing else is sent until confirmed.
    For an address that is already subscribed, the new preferences wait for confirmation, so
    nobody can change another person's subscription."""
    prefs = clean(email=email, language=language, regions=regions, themes=themes)
    sub = db.session.execute(select(Subscription).filter_by(email=prefs["email"])).scalar_one_or_none()
    if sub is None:
        sub = Subscription(email=prefs["email"], language=prefs["language"])
        _set_preferences(sub, prefs)
        db.session.add(sub)
    elif sub.active:
        sub.pending = {k: prefs[k] for k in ("language", "regions", "themes")}
    else:
        sub.unsubscribed_at = None
        sub.confirmed_at = None
        _set_preferences(sub, prefs)
    db.session.flush()
    token = _confirm_signer().dumps(sub.id)
    link = external_url("subscriptions.confirm", token=token)
    mail.send(sub.email, "subscription_confirm", prefs["language"], link=link, subscription=prefs)
    record(None, "subscription.requested", "subscription", sub.id, after={"language": prefs["language"]})
    return sub


@transactional
def confirm(token: str) -> Subscription:
    try:
        sub_id = _confirm_signer().loads(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Please subscribe again."), code="token_expired") from None
    except BadSignature:
        raise ServiceError(_("This link is not valid. Please check that you copied it completely."),
                           code="invalid_token") from None  # fmt: skip
    sub = locked_get(Subscription, sub_id)  # two clicks on the link: the second sees the first
    if sub is None:
        raise ServiceError(_("This subscription no longer exists. Please subscribe again."), code="invalid_token")
    if sub.pending:
        _set_preferences(sub, sub.pending)
        sub.pending = None
    if sub.confirmed_at is None or sub.unsubscribed_at is not None:
        sub.confirmed_at = clock.now()
        sub.unsubscribed_at = None
    record(None, "subscription.confirmed", "subscription", sub.id)
    return sub


def find_for_unsubscribe(token: str) -> Subscription:
    try:
        sub_id = _unsubscribe_signer().loads(token)
    except BadSignature:
        raise ServiceError(_("This link is not valid. Please check that you copied it completely."),
                           code="invalid_token") from None  # fmt: skip
    sub = db.session.get(Subscription, sub_id)
    if sub is None:
        raise ServiceError(_("This subscription no longer exists."), code="invalid_token")
    return sub


@transactional
def unsubscribe(token: str) -> Subscription:
    sub = lock(find_for_unsubscribe(token))
    if sub.unsubscribed_at is None:
        sub.unsubscribed_at = clock.now()
        record(None, "subscription.unsubscribed", "subscription", sub.id)
    return sub


def matching_query(call: Call):
    """Active subscriptions the call matches: open to one of the subscriber's regions (a call
    open to all regions, or a subscription without regions, matches) and sharing a theme (no
    themes on either side matches every theme). One indexed query, whatever the list size."""
    call_all_regions = ~exists().where(CallRegion.call_id == call.id)
    sub_all_regions = ~exists().where(SubscriptionRegion.subscription_id == Subscription.id)
    region_overlap = exists().where(
        and_(SubscriptionRegion.subscription_id == Subscription.id, CallRegion.call_id == call.id,
             CallRegion.region == SubscriptionRegion.region)
    )  # fmt: skip
    call_all_themes = ~exists().where(call_theme.c.call_id == call.id)
    sub_all_themes = ~exists().where(SubscriptionTheme.subscription_id == Subscription.id)
    theme_overlap = exists().where(
        and_(SubscriptionTheme.subscription_id == Subscription.id, call_theme.c.call_id == call.id,
             call_theme.c.theme_code == SubscriptionTheme.theme_code)
    )  # fmt: skip
    return select(Subscription).where(
        Subscription.confirmed_at.is_not(None),
        Subscription.unsubscribed_at.is_(None),
        or_(call_all_regions, sub_all_regions, region_overlap),
        or_(call_all_themes, sub_all_themes, theme_overlap),
    )
