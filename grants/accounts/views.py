from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..core.access import safe_next
from ..core.errors import ServiceError
from ..core.forms import apply_errors
from ..extensions import db, limiter
from ..i18n import LANGUAGE_COOKIE, LANGUAGES
from ..security import end_session, start_session
from . import services
from .forms import ChangePasswordForm, EmailForm, LoginForm, ProfileForm, RegisterForm, ResetPasswordForm

bp = Blueprint("accounts", __name__)


def _failed(response) -> bool:
    return bool(g.get("login_failed"))


def login_account_key() -> str:
    return "login:" + services.normalize_email(request.form.get("email", ""))


def _flash(message: str, category: str = "info") -> None:
    from flask import flash

    flash(message, category)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.home"))
    form = RegisterForm()
    if request.method == "GET":
        form.locale.data = _current()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.register(
                email=form.email.data, name=form.name.data, password=form.password.data, locale=form.locale.data
            )
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            status = error.status
        else:
            return render_template("accounts/check_email.html", email=user.email), 201
    elif request.method == "POST":
        status = 422
    return render_template("accounts/register.html", form=form), status


def _current() -> str:
    from ..i18n import current_locale

    return current_locale()


@bp.route("/verify-email/<token>")
def verify(token: str):
    try:
        services.verify_email(token)
    except ServiceError as error:
        db.session.rollback()
        return render_template("accounts/token_problem.html", message=error.message, resend=True), error.status
    _flash(_("Thank you, your email address is confirmed. You can log in now."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/verify-email", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def resend_verification():
    form = EmailForm()
    if form.validate_on_submit():
        services.resend_verification(form.email.data)
        return render_template("accounts/check_email.html", email=services.normalize_email(form.email.data))
    return render_template("accounts/resend.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("100 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=login_account_key, deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("home.home")))
    form = LoginForm()
    status = 200
    unverified = False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except ServiceError as error:
            g.login_failed = error.code == "invalid_credentials"
            unverified = error.code == "email_not_verified"
            form.form_errors.append(error.message)
            status = 401 if error.status == 400 else error.status
        else:
            start_session(user)  # stored by the request's one commit
            response = redirect(safe_next(request.args.get("next"), url_for("home.home")))
            response.set_cookie(LANGUAGE_COOKIE, user.locale, max_age=365 * 86400, samesite="Lax")
            return response
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form, unverified=unverified), status


@bp.route("/logout", methods=["POST"])
def logout():
    end_session()
    _flash(_("You have logged out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    form = EmailForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        return render_template("accounts/reset_sent.html", email=services.normalize_email(form.email.data))
    return render_template("accounts/forgot.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    status = 200
    if request.method == "GET":
        try:
            services.check_reset_token(token)
        except ServiceError as error:
            return render_template("accounts/token_problem.html", message=error.message, resend=False), error.status
    elif form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            if error.code in {"invalid_token", "token_used", "token_expired"}:
                return render_template("accounts/token_problem.html", message=error.message), error.status
            apply_errors(form, error)
            status = error.status
        else:
            end_session()
            _flash(_("Your password has been changed. Please log in with the new password."), "success")
            return redirect(url_for("accounts.login"))
    else:
        status = 422
    return render_template("accounts/reset.html", form=form), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ProfileForm(obj=current_user)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, name=form.name.data, locale=form.locale.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            status = error.status
        else:
            _flash(_("Saved."), "success")
            response = redirect(url_for("accounts.account"))
            response.set_cookie(LANGUAGE_COOKIE, form.locale.data, max_age=365 * 86400, samesite="Lax")
            return response
    elif request.method == "POST":
        status = 422
    return render_template("accounts/account.html", form=form, password_form=ChangePasswordForm()), status


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit("10 per hour")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, current=form.current.data, new=form.new.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            start_session(user)  # this browser only; every other session has ended
            _flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=ProfileForm(obj=current_user), password_form=form), 422


@bp.route("/language/<code>")
def language(code: str):
    """Switch language with a plain link (works without JavaScript)."""
    target = safe_next(request.args.get("next"), url_for("public.home"))
    if code not in LANGUAGES:
        return redirect(target)
    response = make_response(redirect(target))
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 86400, samesite="Lax")
    if current_user.is_authenticated:
        services.set_locale(current_user, code)
    return response
