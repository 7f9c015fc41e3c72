from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from ..calls.services import themes
from ..core.errors import ServiceError
from ..core.forms import apply_errors
from ..extensions import csrf, db, limiter
from ..i18n import current_locale
from . import services
from .forms import SubscribeForm

bp = Blueprint("subscriptions", __name__)


@bp.route("/subscribe", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def subscribe():
    form = SubscribeForm(themes=themes())
    if request.method == "GET":
        form.language.data = current_locale()
        return render_template("subscriptions/subscribe.html", form=form)
    if form.validate_on_submit():
        try:
            services.subscribe(email=form.email.data, language=form.language.data, regions=form.regions.data,
                               themes=form.themes.data)  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            return render_template("subscriptions/subscribe.html", form=form), error.status
        return render_template("subscriptions/check_email.html", email=form.email.data.strip().lower()), 202
    return render_template("subscriptions/subscribe.html", form=form), 422


@bp.route("/subscriptions/confirm/<token>")
def confirm(token: str):
    try:
        sub = services.confirm(token)
    except ServiceError as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", message=error.message), error.status
    return render_template("subscriptions/confirmed.html", subscription=sub)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token in the URL is the authority; mail clients POST here (RFC 8058)
def unsubscribe(token: str):
    try:
        sub = services.find_for_unsubscribe(token) if request.method == "GET" else services.unsubscribe(token)
    except ServiceError as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", message=error.message), error.status
    done = request.method == "POST"
    return render_template("subscriptions/unsubscribe.html", subscription=sub, done=done, token=token,
                           message=_("You have unsubscribed. You will receive no more emails.") if done else None)  # fmt: skip
