from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..core.forms import REQUIRED, choices
from ..i18n import LANGUAGE_NAMES

LOCALE_CHOICES = choices(LANGUAGE_NAMES.items())
# The rule itself is checked by the service (accounts.passwords), with the person's own words.
PASSWORD_HINT = _l(
    "At least 10 characters, not a leaked or easily guessed password, and not your name or email. "
    "A phrase of three or four unrelated words is easy to remember and hard to guess."
)


class RegisterForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        description=PASSWORD_HINT,
        validators=[DataRequired(REQUIRED)],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(REQUIRED), EqualTo("password", message=_l("The passwords do not match."))],
    )
    locale = SelectField(_l("Language for emails and pages"), choices=LOCALE_CHOICES, default="ru")


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED)])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])


class EmailForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        description=PASSWORD_HINT,
        validators=[DataRequired(REQUIRED)],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(REQUIRED), EqualTo("password", message=_l("The passwords do not match."))],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])
    new = PasswordField(
        _l("New password"),
        description=PASSWORD_HINT,
        validators=[DataRequired(REQUIRED)],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(REQUIRED), EqualTo("new", message=_l("The passwords do not match."))],
    )


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    locale = SelectField(_l("Language for emails and pages"), choices=LOCALE_CHOICES)


class CodeForm(FlaskForm):
    """The second step of a login: a code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        description=_l("6 digits from your authenticator app, or one of your recovery codes."),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"},
    )


class SetupForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        description=_l("The 6 digits your authenticator app shows for this account."),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EnableTwoFactorForm(SetupForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])
    code = StringField(
        _l("Code from the app"), validators=[DataRequired(REQUIRED), Length(max=20)],
        render_kw={"autocomplete": "one-time-code"},
    )  # fmt: skip


class PasswordAndCodeForm(DisableTwoFactorForm):
    """New recovery codes: the password and a current code."""


class PasswordOnlyForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(REQUIRED)])


class ApiLoginForm(LoginForm):
    """POST /api/v1/auth/token: with two-factor login on, the current code (or a recovery code)."""

    otp = StringField(
        _l("Code"),
        description=_l("Only for accounts with two-factor login: the code from the authenticator app."),
        validators=[Length(max=20)],
    )
