"""The award letter: WeasyPrint from a template of plain values, with the amount in words,
the tranche schedule and a QR code for the public verification page."""

from __future__ import annotations

import segno
from markupsafe import Markup
from num2words import num2words

from ..core.pdf import render_pdf
from ..core.urls import external_url
from .models import Award

NUM2WORDS_LANG = {"kk": "kz", "ru": "ru", "en": "en"}
CURRENCY_WORD = {"kk": "теңге", "ru": "тенге", "en": "tenge"}


def amount_in_words(amount: int, language: str) -> str:
    words = num2words(amount, lang=NUM2WORDS_LANG[language])
    return f"{words} {CURRENCY_WORD[language]}"


def render_letter(award: Award, language: str, code: str, version: int) -> bytes:
    app = award.application
    url = external_url("awards.verify", code=code)
    qr = Markup(segno.make(url, error="m").svg_inline(scale=2, omitsize=False))
    return render_pdf(
        "award_letter", language, award=award, app=app, call=app.call, consortium=app.consortium,
        lead=app.consortium.lead, partners=[m.organization for m in app.consortium.members if m.role == "partner"],
        words=amount_in_words(award.amount, language), code=code, verify_url=url, qr=qr, version=version,
    )  # fmt: skip
