"""Small validation helpers shared by the services that check plain data (calls, applications):
errors are collected per field and raised together, in the user's language."""

from __future__ import annotations

from flask_babel import gettext as _


class FieldErrors(dict):
    """{field: [messages]} collected while checking; raise ValidationFailed(fields=dict(self))."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def parse_integer(value, field: str, errors: FieldErrors, *, low: int, high: int) -> int | None:
    """A whole number within low..high ("1 500 000" accepted); None and an error otherwise."""
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        errors.add(field, _("This field is required."))
        return None
    try:
        number = int(str(value).replace(" ", "").replace("\u00a0", ""))
    except (TypeError, ValueError):
        errors.add(field, _("Please enter a whole number."))
        return None
    if not low <= number <= high:
        errors.add(field, _("Please enter a number from %(low)d to %(high)d.", low=low, high=high))
        return None
    return number
