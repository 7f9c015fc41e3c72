from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .services import MAX_ANSWER, MAX_QUESTION


class AskForm(FlaskForm):
    text = TextAreaField(_l("Your question"), validators=[DataRequired(), Length(max=MAX_QUESTION)],
                         description=_l("Only programme managers read it. If it is answered, the question and the "
                                        "answer are published on this page without your name."))  # fmt: skip


class AnswerForm(FlaskForm):
    public_text = TextAreaField(_l("Question as published"), validators=[Optional(), Length(max=MAX_QUESTION)],
                                description=_l("You may reword it; the name of the person who asked is never shown."))  # fmt: skip
    answer_kk = TextAreaField(_l("Answer in Kazakh"), validators=[Optional(), Length(max=MAX_ANSWER)])
    answer_ru = TextAreaField(_l("Answer in Russian"), validators=[Optional(), Length(max=MAX_ANSWER)])
    answer_en = TextAreaField(_l("Answer in English"), validators=[Optional(), Length(max=MAX_ANSWER)])

    def answers(self) -> dict:
        return {"kk": self.answer_kk.data or "", "ru": self.answer_ru.data or "", "en": self.answer_en.data or ""}


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent only to the person who asked)"),
                           validators=[DataRequired(), Length(max=MAX_QUESTION)])  # fmt: skip
