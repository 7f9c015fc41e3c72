"""One guarded transition per stateful entity (DESIGN.md "State machines").

Nothing outside the lifecycle modules assigns a status, and no template compares a status with a
string: templates ask `can_*` predicates or the named sets of the domain's lifecycle. Both checks
read the source, so they need no database and list every offender as file:line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "grants"
TEMPLATES = ROOT / "templates"
STATUS = "status"


def _is_lifecycle_module(path: Path) -> bool:
    return path.name == "lifecycle.py"


def _status_targets(target: ast.expr):
    """The `x.status` attribute targets inside an assignment target (tuples unpacked)."""
    if isinstance(target, ast.Attribute) and target.attr == STATUS:
        yield target
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _status_targets(element)
    elif isinstance(target, ast.Starred):
        yield from _status_targets(target.value)


def status_assignments(source: str) -> list[int]:
    """Line numbers where `source` assigns an attribute named `status`: `x.status = …`,
    `a, x.status = …`, `x.status += …`, `x.status: str = …`, `setattr(x, "status", …)`, and the
    bulk `update(Model).values(status=…)` that would bypass the machine."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and name.value == STATUS:
                lines.append(node.lineno)
            continue
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            if any(keyword.arg == STATUS for keyword in node.keywords):  # a bulk UPDATE … SET status
                lines.append(node.lineno)
            continue
        else:
            continue
        for target in targets:
            lines += [t.lineno for t in _status_targets(target)]
    return sorted(lines)


def python_offenders() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _is_lifecycle_module(path):
            continue
        for line in status_assignments(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}:{line}")
    return found


# --- templates -----------------------------------------------------------------------------------

TAG = re.compile(r"\{\{(.*?)\}\}|\{%-?(.*?)-?%\}", re.S)
STRING = r"""(?:"[^"\n]*"|'[^'\n]*')"""
# Something that names a status: a.status, status, call_status(app.call), app.status|string.
SUBJECT = r"[\w.]*status\w*(?:\([^()]*\))?(?:\s*\|\s*\w+)?"
COMPARISONS = [
    re.compile(rf"{SUBJECT}\s*(?:==|!=)\s*{STRING}", re.I),  # .status == 'draft'
    re.compile(rf"{STRING}\s*(?:==|!=)\s*{SUBJECT}", re.I),  # 'draft' == .status
    re.compile(rf"{SUBJECT}\s+(?:not\s+)?in\s*[(\[]\s*{STRING}", re.I),  # .status in ('a', 'b')
    re.compile(rf"{SUBJECT}\s+is\s+(?:not\s+)?(?:eq|equalto|ne|sameas)\s*\(?\s*{STRING}", re.I),  # is equalto 'x'
    re.compile(rf"""selectattr\(\s*["']{STATUS}["']\s*,\s*["'](?:in|eq|equalto|==|ne|!=)["']""", re.I),
    re.compile(rf"""rejectattr\(\s*["']{STATUS}["']\s*,\s*["'](?:in|eq|equalto|==|ne|!=)["']""", re.I),
]


def status_comparisons(text: str) -> list[int]:
    """Line numbers of Jinja expressions in `text` that compare a status with string literals."""
    lines = []
    for match in TAG.finditer(text):
        body = match.group(1) if match.group(1) is not None else match.group(2)
        for pattern in COMPARISONS:
            for hit in pattern.finditer(body):
                offset = match.start(1) if match.group(1) is not None else match.start(2)
                lines.append(text.count("\n", 0, offset + hit.start()) + 1)
    return sorted(set(lines))


def template_offenders() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for line in status_comparisons(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}:{line}")
    return found


# --- the checks themselves are checked -----------------------------------------------------------


def test_the_ast_check_finds_every_way_of_assigning_a_status():
    source = """
obj.status = "paid"
a.b.status = x
note.status, note.error = "skipped", "gone"
award.status += "x"
item.status: str = "draft"
setattr(award, "status", "active")
status = "local name, not an attribute"
setattr(award, "other", 1)
award.statuses = []
compare = award.status == "paid"
db.session.execute(update(Award).values(status="completed"))
update(Award).values(amount=1)
"""
    assert status_assignments(source) == [2, 3, 4, 5, 6, 7, 12]


def test_the_template_check_finds_status_literals_however_they_are_compared():
    text = "\n".join([
        '{% if call.status != "draft" %}x{% endif %}',
        "{% if a.status in ('submitted', 'eligible') %}",
        '{% if status == "published" and not upcoming %}',
        '{{ "yes" if app.status not in ["draft"] else "no" }}',
        "{% if call_status(app.call) == 'published' %}",
        '{% set active = reports|selectattr("status", "in", ["due", "returned"])|first %}',
        '{% if "paid" == t.status %}',
        "{% if can_edit(call) and call.status in EDITABLE %}",  # a named set: allowed
        '<p role="status">{{ _("saved") }}</p>',  # an HTML attribute, not a comparison
        "{{ app_status(a.status) }} {% if s == status %}selected{% endif %}",
        "{% if a.status is equalto 'draft' %}",
    ])  # fmt: skip
    assert status_comparisons(text) == [1, 2, 3, 4, 5, 6, 7, 11]


# --- the rules -------------------------------------------------------------------------------------


def test_only_lifecycle_modules_assign_a_status():
    offenders = python_offenders()
    assert not offenders, (
        "A status changes only through its domain's lifecycle.transition(); assigned elsewhere at:\n  "
        + "\n  ".join(offenders)
    )


def test_templates_ask_predicates_not_status_literals():
    offenders = template_offenders()
    assert not offenders, (
        "Templates ask can_* predicates or named status sets; a status is compared with a string at:\n  "
        + "\n  ".join(offenders)
    )
