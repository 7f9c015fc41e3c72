"""Reading the application form's fields (one section's page, or the whole form written on a
device without a connection) into the services' data shape."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from .sections import DECLARATIONS

ROW_FIELDS = {
    "workplan": ("activity", "start_month", "end_month"),
    "budget_lines": ("organization_id", "category", "description", "quantity", "unit_cost"),
    "indicators": ("name", "unit", "baseline", "target"),
}
SECTION_ROWS = {"workplan": "workplan", "budget": "budget_lines", "indicators": "indicators"}
# The sections the whole-form (offline) page holds: files are attached once online.
FORM_SECTIONS = ("summary", "problem", "workplan", "budget", "indicators", "partners", "declarations")


def rows_from_form(form: MultiDict, name: str) -> list[dict]:
    """Rows named `<name>-<index>-<field>`, in index order; gaps (rows removed in the page) are
    fine, as are indexes added in the page beyond the ones the server rendered."""
    rows: dict[int, dict] = {}
    for key, value in form.items():
        if key.startswith(name + "-"):
            _prefix, index, field = (key.split("-", 2) + ["", ""])[:3]
            if index.isdigit() and len(index) < 5 and field in ROW_FIELDS[name]:
                rows.setdefault(int(index), {})[field] = value
    return [rows[i] for i in sorted(rows)]


def section_data(section: str, form: MultiDict, partner_ids) -> dict:
    """One section's fields; `partner_ids` are the consortium's partner organization ids."""
    if section == "summary":
        return {k: form.get(k, "") for k in ("title", "summary", "requested_amount", "language")}
    if section == "problem":
        return {k: form.get(k, "") for k in ("problem", "objectives")}
    if section == "workplan":
        return {"activities": form.get("activities", ""), "workplan": rows_from_form(form, "workplan")}
    if section == "budget":
        return {"budget_lines": rows_from_form(form, "budget_lines")}
    if section == "indicators":
        return {"indicators": rows_from_form(form, "indicators")}
    if section == "partners":
        return {"partner_roles": {str(pid): form.get(f"partner_roles-{pid}", "") for pid in partner_ids}}
    if section == "declarations":
        return {"declarations": {key: bool(form.get(f"declarations-{key}")) for key in DECLARATIONS}}
    return {}


def partner_ids(consortium) -> list[int]:
    return [m.organization_id for m in consortium.members if m.role == "partner"]


def whole_form(form: MultiDict, consortium) -> dict:
    partners = partner_ids(consortium)
    data: dict = {}
    for section in FORM_SECTIONS:
        data |= section_data(section, form, partners)
    return data
