"""Writing help beside each section: the programme's default how-to and example, which a
call may replace per section and language (Call.section_help)."""

from flask_babel import lazy_gettext as _l

DEFAULT_HELP = {
    "summary": (
        _l(
            "In three or four sentences: what problem, where, for whom, what you will do and what will change. "
            "Reviewers read this first."
        ),
        _l(
            "Example: In the villages of Aral district, household waste is burned in yards. Over 12 months our two "
            "NGOs will set up separate collection in 5 villages, train 40 volunteers and agree on regular pick-up "
            "with the akimat."
        ),
    ),
    "problem": (
        _l(
            "Describe the problem with facts you know first-hand (numbers, places, who suffers). Then list 2–3 "
            "objectives that the project can really reach."
        ),
        _l(
            "Example objective: By month 10, 5 villages sort plastic and glass, and at least 60 percent of households "
            "take part."
        ),
    ),
    "workplan": (
        _l(
            "List the main activities in order, with the month each starts and ends (month 1 is the first month "
            "of the grant)."
        ),
        _l("Example: Training of volunteers — months 1–2; Collection points in 5 villages — months 2–4."),
    ),
    "budget": (
        _l(
            "One line per cost, for the organization that will spend it: quantity × unit cost. The total must "
            "equal the requested amount."
        ),
        _l("Example: Partner NGO · Events · Training day for 20 volunteers · 2 × 150 000 ₸ = 300 000 ₸."),
    ),
    "indicators": (
        _l(
            "How will you show the result? For each indicator give the unit, today's value (baseline) and the "
            "value you will reach (target)."
        ),
        _l("Example: Households sorting waste · households · 0 → 300."),
    ),
    "partners": (
        _l("Say what each partner does in the project and why this partner: experience, place, people."),
        _l("Example: The youth group from Zhosaly runs the volunteer training; they did a similar campaign in 2024."),
    ),
    "attachments": (
        _l(
            "Attach only what the call asks for: charter, letters of support, CVs. PDF, Word, Excel, JPEG or PNG, "
            "up to 10 MB each."
        ),
        _l("Tip: a scanned document is usually small enough as a PDF at 150 dpi."),
    ),
    "declarations": (
        _l("Read each statement. By ticking it the lead organization confirms it for the whole consortium."),
        _l("If something is unclear, ask the programme team before the deadline."),
    ),
}


def section_help(call, section: str, locale: str) -> tuple[str, str]:
    """(how-to, example) for the section in the locale: the call's own text, else the default."""
    custom = (call.section_help or {}).get(section, {})
    for lang in (locale, "ru", "kk", "en"):
        entry = custom.get(lang)
        if entry and (entry.get("howto") or entry.get("example")):
            return entry.get("howto", ""), entry.get("example", "")
    howto, example = DEFAULT_HELP[section]
    return str(howto), str(example)
