from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..core.forms import REQUIRED


class ActionForm(FlaskForm):
    """A button: the CSRF token only."""


class PhoneForm(FlaskForm):
    phone = StringField(_l("Mobile number"), description=_l("A Kazakhstan number, e.g. +7 701 234 56 78."),
                        validators=[DataRequired(REQUIRED), Length(max=30)])  # fmt: skip


class PhoneCodeForm(FlaskForm):
    code = StringField(_l("Code from the SMS"), validators=[DataRequired(REQUIRED), Length(max=12)])
