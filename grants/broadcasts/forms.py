from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..core.forms import choices
from .services import MAX_BODY, MAX_SUBJECT

SEGMENT_LABELS = (
    ("applicants", _l("Applicants of a call (submitted applications)")),
    ("drafts", _l("Drafts not submitted (of a call)")),
    ("grantees", _l("Grantees (of a call, or all)")),
    ("reviewers", _l("Reviewers (of a call, or all)")),
)


class BroadcastForm(FlaskForm):
    segment = SelectField(_l("Recipients"), choices=choices(SEGMENT_LABELS))
    call_id = SelectField(_l("Call"), coerce=str, validators=[Optional()])
    subject_kk = StringField(_l("Subject in Kazakh"), validators=[Optional(), Length(max=MAX_SUBJECT)])
    body_kk = TextAreaField(_l("Text in Kazakh"), validators=[Optional(), Length(max=MAX_BODY)])
    subject_ru = StringField(_l("Subject in Russian"), validators=[Optional(), Length(max=MAX_SUBJECT)])
    body_ru = TextAreaField(_l("Text in Russian"), validators=[Optional(), Length(max=MAX_BODY)])
    subject_en = StringField(_l("Subject in English"), validators=[Optional(), Length(max=MAX_SUBJECT)])
    body_en = TextAreaField(_l("Text in English"), validators=[Optional(), Length(max=MAX_BODY)])
    client_token = HiddenField()

    def call(self) -> int | None:
        return int(self.call_id.data) if (self.call_id.data or "").isdigit() else None

    def texts(self, field: str) -> dict:
        return {lang: getattr(self, f"{field}_{lang}").data or "" for lang in ("kk", "ru", "en")}
