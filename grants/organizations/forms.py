from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.forms import REQUIRED, MultiCheckboxField, choices
from ..i18n import current_locale
from .reference import GENDERS, LEGAL_FORMS, REGIONS, SETTLEMENTS

COUNT = [Optional(), NumberRange(min=0, max=100000, message=_l("Please enter a number from 0 to 100000."))]
NOT_INT = _l("Please enter a whole number.")


def _localized(mapping: dict) -> list[tuple[str, str]]:
    locale = current_locale()
    return [(code, names.get(locale, names["ru"])) for code, names in mapping.items()]


EMPTY = [("", "—")]


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name of the organization"), validators=[DataRequired(REQUIRED), Length(max=300)])
    legal_form = SelectField(_l("Legal form"), validators=[DataRequired(REQUIRED)])
    bin = StringField(
        _l("BIN"), description=_l("12 digits. Leave empty for an unregistered initiative group."),
        validators=[Optional(), Length(max=14)],
    )  # fmt: skip
    region = SelectField(_l("Region"), validators=[DataRequired(REQUIRED)])
    settlement = SelectField(_l("Settlement"), validators=[DataRequired(REQUIRED)])
    settlement_name = StringField(_l("Town or village"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Short description of your work"), validators=[Optional(), Length(max=5000)])
    staff_full_time = IntegerField(_l("Full-time staff"), validators=COUNT, default=0)
    staff_part_time = IntegerField(_l("Part-time staff"), validators=COUNT, default=0)
    volunteers = IntegerField(_l("Volunteers"), validators=COUNT, default=0)
    head_gender = SelectField(_l("Head of the organization is a"), validators=[Optional()])
    head_birth_year = IntegerField(_l("Head's year of birth"), validators=[Optional()])
    board_total = IntegerField(_l("Members of the governing body"), validators=COUNT, default=0)
    board_women = IntegerField(_l("of them women"), validators=COUNT, default=0)
    board_youth = IntegerField(_l("of them aged 18–35"), validators=COUNT, default=0)
    women_led = BooleanField(_l("We declare that the organization is women-led"))
    youth_led = BooleanField(_l("We declare that the organization is youth-led"))
    public_profile = BooleanField(
        _l("Show our profile in the public directory, so other NGOs can find us as a partner"),
        description=_l("Shown: name, region, settlement, themes and the short description. Never people or numbers."),
    )
    themes = MultiCheckboxField(_l("Themes we work on"))
    evidence = FileField(
        _l("Evidence for the declaration (PDF, JPEG or PNG, up to 10 MB)"),
        description=_l("For example the charter or the decision appointing the head and the governing body."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        locale = current_locale()
        self.legal_form.choices = choices(EMPTY + _localized(LEGAL_FORMS))
        self.region.choices = choices(EMPTY + _localized(REGIONS))
        self.settlement.choices = choices(EMPTY + [(k, str(v)) for k, v in SETTLEMENTS.items()])
        self.head_gender.choices = choices(EMPTY + [(k, str(v)) for k, v in GENDERS.items()])
        from ..calls.services import themes

        self.themes.choices = choices((t.code, t.name(locale)) for t in themes())

    def values(self) -> dict:
        return {name: field.data for name, field in self._fields.items() if name not in ("csrf_token", "evidence")}


class InviteForm(FlaskForm):
    email = EmailField(_l("Email of the person to invite"), validators=[DataRequired(REQUIRED), Length(max=254)])
    role = SelectField(
        _l("Role"), choices=choices([("editor", _l("editor")), ("owner", _l("owner"))]), default="editor"
    )


class VerifyForm(FlaskForm):
    women_led = BooleanField(_l("Women-led status confirmed"))
    youth_led = BooleanField(_l("Youth-led status confirmed"))
    note = TextAreaField(_l("Note (what was checked)"), validators=[Optional(), Length(max=1000)])
