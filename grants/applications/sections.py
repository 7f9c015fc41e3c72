"""The application form's sections, budget categories and declarations (data, translated)."""

from flask_babel import lazy_gettext as _l

SECTIONS = {
    "summary": _l("Summary"),
    "problem": _l("Problem and objectives"),
    "workplan": _l("Activities and workplan"),
    "budget": _l("Budget"),
    "indicators": _l("Indicators"),
    "partners": _l("Partners' roles"),
    "attachments": _l("Attachments"),
    "declarations": _l("Declarations"),
}
# Which fields each section saves (the API's names).
SECTION_FIELDS = {
    "summary": ("title", "summary", "requested_amount", "language"),
    "problem": ("problem", "objectives"),
    "workplan": ("activities", "workplan"),
    "budget": ("budget_lines",),
    "indicators": ("indicators",),
    "partners": ("partner_roles",),
    "attachments": (),
    "declarations": ("declarations",),
}
FIELD_SECTION = {field: section for section, fields in SECTION_FIELDS.items() for field in fields}
CATEGORIES = {
    "staff": _l("Staff"),
    "travel": _l("Travel"),
    "equipment": _l("Equipment"),
    "supplies": _l("Materials and supplies"),
    "services": _l("Services"),
    "events": _l("Events and training"),
    "other": _l("Other"),
}
DECLARATIONS = {
    "truthful": _l("The information in this application is true and complete."),
    "no_double_funding": _l("The same activities are not funded by another donor."),
    "consent": _l("We agree that the programme processes this data to assess the application."),
}
ATTACHMENT_KINDS = {
    "charter": _l("Charter or registration document"),
    "letter": _l("Letter of support"),
    "cv": _l("CV of the project team"),
    "photo": _l("Photo"),
    "budget": _l("Detailed budget"),
    "other": _l("Other"),
}
MAX_MONTHS = 36
