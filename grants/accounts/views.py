from __future__ import annotations

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from ..core import clock
from ..core.access import safe_next
from ..core.errors import ServiceError
from ..core.forms import apply_errors
from ..extensions import db, limiter
from ..i18n import LANGUAGE_COOKIE, LANGUAGES
from ..security import end_session, start_session
from . import services, two_factor
from .forms import (
    ChangePasswordForm,
    CodeForm,
    DisableTwoFactorForm,
    EmailForm,
    EnableTwoFactorForm,
    LoginForm,
    PasswordAndCodeForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    SetupForm,
)  # fmt: skip

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
            email = services.register(
                email=form.email.data, name=form.name.data, password=form.password.data, locale=form.locale.data
            )
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            status = error.status
        else:  # the same page whether or not the address already had an account
            return render_template("accounts/check_email.html", email=email), 201
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
            target = safe_next(request.args.get("next"), url_for("home.home"))
            if two_factor.is_enabled(user) or two_factor.required(user):
                # Not signed in yet: the second step is keyed in this browser's session only.
                session.clear()
                session[PENDING] = {"uid": user.id, "until": clock.now().timestamp() + PENDING_SECONDS,
                                    "next": target}  # fmt: skip
                step = "accounts.login_code" if two_factor.is_enabled(user) else "accounts.login_setup"
                return redirect(url_for(step))
            return _signed_in(user, target, second_factor=False)
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login.html", form=form, unverified=unverified), status


PENDING = "pending_login"
PENDING_SECONDS = 10 * 60  # the password step counts this long


def _signed_in(user, target: str, *, second_factor: bool, response=None):
    start_session(user, second_factor=second_factor)  # stored by the request's one commit
    response = response or redirect(target)
    response.set_cookie(LANGUAGE_COOKIE, user.locale, max_age=365 * 86400, samesite="Lax")
    return response


def _pending_user():
    """The person who gave the right password in this browser within the last ten minutes."""
    from .models import User

    pending = session.get(PENDING)
    if not isinstance(pending, dict) or pending.get("until", 0) < clock.now().timestamp():
        session.pop(PENDING, None)
        return None
    user = db.session.get(User, pending.get("uid"))
    return user if user is not None and user.is_active else None


def pending_account_key() -> str:
    pending = session.get(PENDING)
    return "login-code:" + str(pending.get("uid") if isinstance(pending, dict) else request.remote_addr)


def _restart_login():
    _flash(_("Please log in again."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("100 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=pending_account_key, deduct_when=_failed)
def login_code():
    """Second step: a code from the authenticator app or a recovery code."""
    user = _pending_user()
    if user is None:
        return _restart_login()
    if not two_factor.is_enabled(user):  # reset by an admin meanwhile
        return redirect(url_for("accounts.login_setup" if two_factor.required(user) else "accounts.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            used = two_factor.verify(user, form.code.data)
        except ServiceError as error:
            g.login_failed = True
            apply_errors(form, error)
            status = 429 if isinstance(error, two_factor.Locked) else 401
        else:
            response = _signed_in(user, session[PENDING]["next"], second_factor=True)  # clears the session
            if used == "recovery":
                left = two_factor.remaining_recovery_codes(user)
                _flash(ngettext("You used a recovery code; %(num)d is left.",
                                "You used a recovery code; %(num)d are left.", left), "warning")  # fmt: skip
            return response
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login_code.html", form=form), status


@bp.route("/login/setup", methods=["GET", "POST"])
@limiter.limit("100 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=pending_account_key, deduct_when=_failed)
def login_setup():
    """A role that requires two-factor login and has none: set it up before signing in."""
    user = _pending_user()
    if user is None:
        return _restart_login()
    if two_factor.is_enabled(user):
        return redirect(url_for("accounts.login_code"))
    pending = session[PENDING]
    if not pending.get("secret"):
        pending["secret"] = two_factor.new_secret()
        session[PENDING] = pending
    form = SetupForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(user, secret=pending["secret"], code=form.code.data)
        except ServiceError as error:
            g.login_failed = True
            apply_errors(form, error)
            status = error.status if error.status != 400 else 401
        else:
            target = pending["next"]
            page = make_response(render_template("accounts/recovery_codes.html", codes=codes, next=target))
            return _signed_in(user, target, second_factor=True, response=page)
    elif request.method == "POST":
        status = 422
    return render_template("accounts/login_setup.html", form=form, **_setup_context(user, pending["secret"])), status


def _setup_context(user, secret: str) -> dict:
    return {
        "secret": two_factor.grouped(secret),
        "qr": two_factor.qr_data_uri(two_factor.provisioning_uri(user, secret)),
    }


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


def _account_page(status: int = 200, **forms):
    from ..security import current_session, sessions_of

    user = current_user._get_current_object()
    enabled = two_factor.is_enabled(user)
    context = {
        "form": forms.get("form") or ProfileForm(obj=user),
        "password_form": forms.get("password_form") or ChangePasswordForm(),
        "sessions": sessions_of(user),
        "this_session": current_session(),
        "two_factor_enabled": enabled,
        "two_factor_required": two_factor.required(user),
    }
    if enabled:
        context["recovery_left"] = two_factor.remaining_recovery_codes(user)
        context["disable_form"] = forms.get("disable_form") or DisableTwoFactorForm()
        context["regenerate_form"] = forms.get("regenerate_form") or PasswordAndCodeForm()
    else:
        secret = session.get(SETUP_SECRET)
        if not secret:
            secret = session[SETUP_SECRET] = two_factor.new_secret()
        context["enable_form"] = forms.get("enable_form") or EnableTwoFactorForm()
        context.update(_setup_context(user, secret))
    return render_template("accounts/account.html", **context), status


SETUP_SECRET = "totp_setup"  # the secret offered on the account page until it is confirmed


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
    return _account_page(status, form=form)


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit("10 per hour")
def change_password():
    from ..security import current_session

    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        second_factor = bool(getattr(current_session(), "second_factor", False))
        try:
            services.change_password(user, current=form.current.data, new=form.new.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
        else:
            start_session(user, second_factor=second_factor)  # this browser only; every other session has ended
            _flash(_("Your password has been changed. Other devices have been signed out."), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(422, password_form=form)


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_one_session(session_id: int):
    from ..security import current_session, end_user_session

    this = current_session()  # CSRFProtect has checked the token already
    if this is not None and this.id == session_id:
        return logout()
    if not end_user_session(current_user, session_id):
        abort(404)
    _flash(_("That session has ended."), "success")
    return redirect(url_for("accounts.account", _anchor="sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_others():
    from ..security import end_other_sessions

    ended = end_other_sessions(current_user)
    _flash(ngettext("%(num)d other session has ended.", "%(num)d other sessions have ended.", ended), "success")
    return redirect(url_for("accounts.account", _anchor="sessions"))


@bp.route("/account/two-factor/enable", methods=["POST"])
@login_required
@limiter.limit("10 per 15 minutes")
def two_factor_enable():
    from ..security import current_session

    form = EnableTwoFactorForm()
    secret = session.get(SETUP_SECRET)
    if form.validate_on_submit() and secret:
        user = current_user._get_current_object()
        try:
            codes = two_factor.enable(user, secret=secret, code=form.code.data, password=form.password.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            return _account_page(error.status if error.status != 400 else 422, enable_form=form)
        session.pop(SETUP_SECRET, None)
        record = current_session()
        if record is not None:
            record.second_factor = True
        return render_template("accounts/recovery_codes.html", codes=codes, next=url_for("accounts.account"))
    return _account_page(422, enable_form=form)


@bp.route("/account/two-factor/disable", methods=["POST"])
@login_required
@limiter.limit("10 per 15 minutes")
def two_factor_disable():
    form = DisableTwoFactorForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(current_user._get_current_object(), password=form.password.data, code=form.code.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            return _account_page(error.status if error.status != 400 else 422, disable_form=form)
        _flash(_("Two-factor login is off."), "success")
        return redirect(url_for("accounts.account", _anchor="two-factor"))
    return _account_page(422, disable_form=form)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@login_required
@limiter.limit("10 per 15 minutes")
def recovery_codes():
    form = PasswordAndCodeForm()
    if form.validate_on_submit():
        try:
            user = current_user._get_current_object()
            codes = two_factor.regenerate_recovery_codes(user, password=form.password.data, code=form.code.data)
        except ServiceError as error:
            db.session.rollback()
            apply_errors(form, error)
            return _account_page(error.status if error.status != 400 else 422, regenerate_form=form)
        return render_template("accounts/recovery_codes.html", codes=codes, next=url_for("accounts.account"))
    return _account_page(422, regenerate_form=form)


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
