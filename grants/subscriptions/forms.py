from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import DataRequired, Length

from ..core.forms import REQUIRED, MultiCheckboxField, choices
from ..i18n import LANGUAGE_NAMES, current_locale
from ..organizations.reference import REGIONS


class SubscribeForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=254)])
    language = SelectField(_l("Language of the emails"), choices=choices(LANGUAGE_NAMES.items()))
    regions = MultiCheckboxField(_l("Regions"), description=_l("None ticked: every region."))
    themes = MultiCheckboxField(_l("Themes"), description=_l("None ticked: every theme."))

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = current_locale()
        self.regions.choices = choices((code, names.get(locale, names["ru"])) for code, names in REGIONS.items())
        self.themes.choices = choices((t.code, t.name(locale)) for t in themes)
