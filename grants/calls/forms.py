"""The call editor. Fields are plain text here; calls.cleaning.clean() validates everything
(the same rules the API uses) and its errors are placed back onto these fields."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)

from ..core.forms import MultiCheckboxField, choices
from ..i18n import current_locale, display_zone
from ..organizations.reference import REGIONS
from .models import Call

LANGS = ("kk", "ru", "en")
LANG_LABELS = {"kk": _l("in Kazakh"), "ru": _l("in Russian"), "en": _l("in English")}
PRIORITY_FIELDS = {
    "women_led_points": "women_led_points", "youth_led_points": "youth_led_points", "rural_points": "rural_points",
    "newcomer_points": "newcomer_points", "cap": "priority_cap", "basis": "priority_basis",
    "youth_age_min": "youth_age_min", "youth_age_max": "youth_age_max",
}  # fmt: skip
NUMBER_FIELDS = (
    "envelope", "min_amount", "max_amount", "consortium_min_members", "consortium_max_members", "max_awards",
    "max_awards_per_consortium", "max_consortia", "reviewers_per_application", "quality_threshold",
    "divergence_threshold",
)  # fmt: skip


class CriterionForm(Form):
    key = StringField(_l("Key"), render_kw={"size": 12})
    title_kk = StringField(_l("Title in Kazakh"))
    title_ru = StringField(_l("Title in Russian"))
    title_en = StringField(_l("Title in English"))
    weight = StringField(_l("Weight, %"), render_kw={"inputmode": "numeric", "size": 4})
    max_score = StringField(_l("Max score"), render_kw={"inputmode": "numeric", "size": 4})


class CallForm(FlaskForm):
    code = StringField(_l("Code"), description=_l("Short and unique, e.g. SG-2027-1."))
    title_kk = StringField(_l("Title in Kazakh"))
    title_ru = StringField(_l("Title in Russian"))
    title_en = StringField(_l("Title in English"))
    description_kk = TextAreaField(_l("Description in Kazakh"))
    description_ru = TextAreaField(_l("Description in Russian"))
    description_en = TextAreaField(_l("Description in English"))
    guideline = FileField(_l("Guideline document (PDF or DOCX, up to 10 MB)"))
    currency = StringField(_l("Currency"), default="KZT", render_kw={"size": 4})
    envelope = StringField(_l("Envelope (total budget)"), render_kw={"inputmode": "numeric"})
    min_amount = StringField(_l("Minimum per project"), render_kw={"inputmode": "numeric"})
    max_amount = StringField(_l("Maximum per project"), render_kw={"inputmode": "numeric"})
    opens_at = StringField(_l("Opens (Astana time)"), render_kw={"type": "datetime-local"})
    closes_at = StringField(_l("Deadline (Astana time)"), render_kw={"type": "datetime-local"})
    themes = MultiCheckboxField(_l("Themes"))
    regions = MultiCheckboxField(_l("Eligible regions"), description=_l("None ticked: open to every region."))
    consortium_min_members = StringField(_l("Consortium members, at least"), default="2")
    consortium_max_members = StringField(_l("Consortium members, at most"), default="6")
    max_awards = StringField(_l("Awards, at most"), default="20")
    max_awards_per_consortium = StringField(_l("Awards per consortium, at most"), default="4")
    max_consortia = StringField(_l("Funded consortia, at most"), default="5")
    reviewers_per_application = StringField(_l("Reviewers per application"), default="3")
    blind_review = BooleanField(_l("Blind review (reviewers do not see names)"), default=True)
    quality_threshold = StringField(_l("Quality threshold (of 100)"), default="60")
    divergence_threshold = StringField(_l("Divergence threshold (points)"), default="25")
    alert_offsets_days = StringField(_l("Deadline alerts, days before"), default="30, 14, 7, 3, 1")
    women_led_points = StringField(_l("Points if women-led"), default="10")
    youth_led_points = StringField(_l("Points if youth-led"), default="10")
    rural_points = StringField(_l("Points if the lead is rural"), default="5")
    newcomer_points = StringField(_l("Points if no member was funded before"), default="0")
    priority_cap = StringField(_l("Priority points, at most"), default="20")
    priority_basis = SelectField(_l("Who must have the status"))
    youth_age_min = StringField(_l("Youth age from"), default="18")
    youth_age_max = StringField(_l("Youth age to"), default="35")
    criteria = FieldList(FormField(CriterionForm), min_entries=1)

    def __init__(self, *args, themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        locale = current_locale()
        self.themes.choices = choices((t.code, t.name(locale)) for t in themes)
        self.regions.choices = choices((code, names.get(locale, names["ru"])) for code, names in REGIONS.items())
        self.priority_basis.choices = choices(
            [("lead", _l("the lead organization")), ("majority", _l("more than half of the members"))]
        )

    def to_data(self) -> dict:
        """The API's shape, for calls.services."""
        data = {
            "code": self.code.data,
            "title": {lang: self[f"title_{lang}"].data for lang in LANGS},
            "description": {lang: self[f"description_{lang}"].data for lang in LANGS},
            "currency": self.currency.data,
            "opens_at": self.opens_at.data,
            "closes_at": self.closes_at.data,
            "themes": self.themes.data or [],
            "regions": self.regions.data or [],
            "blind_review": self.blind_review.data,
            "alert_offsets_days": self.alert_offsets_days.data or "",
            "priority": {key: self[name].data for key, name in PRIORITY_FIELDS.items()},
            "criteria": [
                {
                    "key": row.key.data,
                    "title": {lang: row[f"title_{lang}"].data for lang in LANGS},
                    "weight": row.weight.data,
                    "max_score": row.max_score.data,
                }
                for row in self.criteria
            ],  # fmt: skip
        }
        data.update({name: self[name].data for name in NUMBER_FIELDS})
        return data

    def place_errors(self, fields: dict[str, list[str]]) -> None:
        """Put a service's errors (API field names) next to the matching inputs."""
        for name, messages in fields.items():
            target = None
            parts = name.split(".")
            if name in ("title", "description"):
                target = self[f"{name}_ru"]
            elif parts[0] == "priority" and len(parts) == 2:
                target = self[PRIORITY_FIELDS[parts[1]]]
            elif (
                parts[0] == "criteria" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(self.criteria)
            ):
                row = self.criteria[int(parts[1])]
                target = row[f"{parts[2]}_ru"] if parts[2] == "title" else row[parts[2]]
            elif name in self._fields:
                target = self[name]
            if target is not None:
                target.errors = list(target.errors or []) + list(messages)
            else:
                self.form_errors.extend(messages)


def _local(moment: datetime) -> str:
    return moment.astimezone(display_zone()).strftime("%Y-%m-%dT%H:%M")


def formdata_from_call(call: Call) -> MultiDict:
    """What the editor shows for an existing call."""
    from .services import to_dict

    data = to_dict(call)
    out = MultiDict()
    out["code"] = data["code"]
    for lang in LANGS:
        out[f"title_{lang}"] = data["title"][lang]
        out[f"description_{lang}"] = data["description"][lang]
    out["opens_at"], out["closes_at"] = _local(call.opens_at), _local(call.closes_at)
    out["currency"] = data["currency"]
    for name in NUMBER_FIELDS:
        value = data[name]
        out[name] = str(int(value) if isinstance(value, float) and value.is_integer() else value)
    for code in data["themes"]:
        out.add("themes", code)
    for code in data["regions"]:
        out.add("regions", code)
    if data["blind_review"]:
        out["blind_review"] = "y"
    out["alert_offsets_days"] = ", ".join(str(d) for d in data["alert_offsets_days"])
    for key, name in PRIORITY_FIELDS.items():
        out[name] = str(data["priority"][key])
    for i, row in enumerate(data["criteria"]):
        out[f"criteria-{i}-key"] = row["key"]
        for lang in LANGS:
            out[f"criteria-{i}-title_{lang}"] = row["title"][lang]
        out[f"criteria-{i}-weight"] = str(row["weight"])
        out[f"criteria-{i}-max_score"] = str(row["max_score"])
    return out


def edit_rows(formdata: MultiDict, action: str) -> MultiDict | None:
    """Add or remove a criterion row (buttons work without JavaScript); None if not a row action."""
    if action != "add_criterion" and not action.startswith("remove_criterion-"):
        return None
    rows: dict[int, dict[str, str]] = {}
    out = MultiDict()
    for key, value in formdata.items(multi=True):
        if key.startswith("criteria-"):
            _prefix, index, field = key.split("-", 2)
            if index.isdigit():
                rows.setdefault(int(index), {})[field] = value
        elif key != "action":
            out.add(key, value)
    ordered = [rows[i] for i in sorted(rows)]
    if action == "add_criterion":
        ordered.append({})
    else:
        index = action.rsplit("-", 1)[1]
        if index.isdigit() and int(index) < len(ordered) and len(ordered) > 1:
            del ordered[int(index)]
    for i, row in enumerate(ordered):
        for field, value in row.items():
            out[f"criteria-{i}-{field}"] = value
        if not row:
            out[f"criteria-{i}-key"] = ""
    return out
