"""Form helpers shared by every domain."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, Form, SelectChoice, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from .errors import ServiceError, ValidationFailed


def apply_errors(form: Form, error: ServiceError) -> None:
    """Show a service's field errors next to the fields, and its message above the form."""
    for name, messages in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = list(field.errors or []) + list(messages)
    form.form_errors.append(error.message)


def form_from_json(form_class: type[FlaskForm], payload: dict) -> FlaskForm:
    """The same form (and so the same validators and messages) for a JSON API body. A list is
    accepted only by a field of several values, and an object by none: a list where one value
    belongs would otherwise be read as its first item (a login as one address while the rate
    limit counted another, ASVS V2.2.1); the body's schema refuses these first, this is the
    second line."""
    data = MultiDict()
    for key, value in (payload or {}).items():
        if isinstance(value, bool):
            if value:
                data.add(key, "y")
        elif isinstance(value, list):
            for item in value:
                data.add(key, "" if item is None else str(item))
        elif value is not None:
            data.add(key, str(value))
    form = form_class(formdata=data, meta={"csrf": False})
    wrong = {
        key: [_("Must be text.")]
        for key, value in (payload or {}).items()
        if key in form._fields
        and (isinstance(value, dict) or (isinstance(value, list) and not isinstance(form._fields[key], _MANY)))
    }
    if wrong:
        raise ValidationFailed(_("Please correct the marked fields."), fields=wrong)
    return form


_MANY = (SelectMultipleField, FieldList)


REQUIRED = _l("This field is required.")


def choices(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (works without JavaScript, unlike a multi-select)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):  # services report unknown codes in the user's language
        pass
