"""The award letter: WeasyPrint from a template of plain values, with the amount in words,
the tranche schedule and a QR code for the public verification page.

What a letter states is frozen at issue in a snapshot (plain JSON on the Letter): every rendering,
in any language, and /verify read the snapshot, never the live award or organizations, so a later
rename or edit cannot change what an issued letter says under its genuine code."""

from __future__ import annotations

from datetime import date

import segno
from markupsafe import Markup
from num2words import num2words

from ..core.pdf import render_pdf
from ..core.urls import external_url
from .models import Award, Letter

NUM2WORDS_LANG = {"kk": "kz", "ru": "ru", "en": "en"}
CURRENCY_WORD = {"kk": "теңге", "ru": "тенге", "en": "tenge"}


def amount_in_words(amount: int, language: str) -> str:
    words = num2words(amount, lang=NUM2WORDS_LANG[language])
    return f"{words} {CURRENCY_WORD[language]}"


def _org(org) -> dict:
    return {"name": org.name, "bin": org.bin or "", "region": org.region or ""}


def snapshot_of(award: Award) -> dict:
    """Plain values of everything the letter states, as decided now."""
    app = award.application
    consortium = app.consortium
    return {
        "agreement_number": award.agreement_number,
        "dated": award.created_at.date().isoformat() if award.created_at else None,
        "amount": award.amount,
        "currency": award.currency,
        "starts_on": award.starts_on.isoformat(),
        "ends_on": award.ends_on.isoformat(),
        "title": app.title,
        "call_code": app.call.code,
        "consortium": consortium.name,
        "lead": _org(consortium.lead),
        "partners": [_org(m.organization) for m in consortium.members if m.role == "partner"],
        "tranches": [
            {
                "n": t.n,
                "percent": t.percent,
                "amount": t.amount,
                "condition": t.condition,
                "due_on": t.due_on.isoformat(),
            }
            for t in award.tranches
        ],
        "reports": [{"kind": r.kind, "due_on": r.due_on.isoformat()} for r in award.reports],
    }


def snapshot_for(letter: Letter, award: Award) -> dict:
    """The letter's frozen values (letters issued before snapshots existed: the award as it is)."""
    return letter.snapshot or snapshot_of(award)


def _day(value):
    return date.fromisoformat(value) if isinstance(value, str) and value else value


def render_letter(snapshot: dict | Award, language: str, code: str, version: int) -> bytes:
    """The letter PDF from a snapshot (an Award is snapshotted as it is now: previews, benchmarks)."""
    from .lifecycle import CONDITION_LABELS

    if isinstance(snapshot, Award):
        snapshot = snapshot_of(snapshot)

    url = external_url("awards.verify", code=code)
    qr = Markup(segno.make(url, error="m").svg_inline(scale=2, omitsize=False))
    letter = dict(snapshot)
    for key in ("dated", "starts_on", "ends_on"):
        letter[key] = _day(letter.get(key))
    tranches = [t | {"due_on": _day(t["due_on"])} for t in snapshot["tranches"]]
    reports = [r | {"due_on": _day(r["due_on"])} for r in snapshot["reports"]]
    return render_pdf(
        "award_letter", language, letter=letter, tranches=tranches, reports=reports, lead=snapshot["lead"],
        partners=snapshot["partners"], conditions=CONDITION_LABELS,
        words=amount_in_words(snapshot["amount"], language), code=code, verify_url=url, qr=qr, version=version,
    )  # fmt: skip
