"""HTML templates to PDF with WeasyPrint, locked down: the only resource a PDF may load is its
own stylesheet. Every other reference (file://, http(s)://, data:, relative paths) is refused
by the URL fetcher, so nothing on the server or the network can end up inside a document.

Templates live in templates/pdf/<name>.html and are rendered in the requested language.
Fonts come from the system (DejaVu, which has every Kazakh letter); there are no web fonts."""

from __future__ import annotations

import re

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .._data import resource

# Documents are parsed with this base URL, so relative references also reach the fetcher
# (and are refused there). The stylesheet is the one URL it answers.
BASE_URL = "grants-pdf:/"
STYLESHEET_URL = "grants-pdf:/pdf.css"
STYLESHEET_PATH = resource("templates") / "pdf" / "pdf.css"


class RefusedURL(ValueError):
    """A PDF referred to something other than its own stylesheet."""


def _stylesheet() -> bytes:
    return STYLESHEET_PATH.read_bytes()


class PDFURLFetcher(URLFetcher):
    """Serves STYLESHEET_URL from templates/pdf/pdf.css and refuses every other URL.

    `fetch` never reaches urllib: besides, the base class is told that no protocol at all is
    allowed and not to follow redirects, so even a call that got past this override would be
    refused. WeasyPrint turns a refusal into a logged error and leaves the resource out
    (fail_on_errors=False): a stray reference cannot stop a document from being produced."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False, fail_on_errors=False)

    def fetch(self, url, headers=None) -> URLFetcherResponse:
        if url == STYLESHEET_URL:
            return URLFetcherResponse(url, body=_stylesheet(), headers={"Content-Type": "text/css; charset=utf-8"})
        raise RefusedURL(f"PDF resources other than the stylesheet are not loaded: {str(url)[:200]!r}")


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, safe inside a <style> element."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;!?()-–—·/%'+" else f"\\{ord(ch):x} " for ch in str(text))
    return Markup(f'"{escaped}"')


def page_counter() -> Markup:
    """CSS `content` for the footer: the translated "Page X of Y" with the page counters."""
    text = _("Page %(page)s of %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    parts = re.split(r"\x00(page|pages)\x00", text)
    values = [f"counter({part})" if i % 2 else css_string(part) for i, part in enumerate(parts) if part]
    return Markup(" ".join(values) or '""')


def render_html(template: str, locale: str, **context) -> str:
    """templates/pdf/<template>.html rendered in `locale` (what render_pdf converts)."""
    with force_locale(locale):
        return render_template(
            f"pdf/{template}.html",
            locale=locale,
            stylesheet_url=STYLESHEET_URL,
            css_string=css_string,
            page_counter=page_counter(),
            **context,
        )


def html_to_pdf(html: str) -> bytes:
    """Convert HTML to PDF bytes; its references are resolved only through PDFURLFetcher."""
    return HTML(string=html, base_url=BASE_URL, url_fetcher=PDFURLFetcher()).write_pdf()


def render_pdf(template: str, locale: str, **context) -> bytes:
    """templates/pdf/<template>.html rendered in `locale` and converted to PDF bytes."""
    return html_to_pdf(render_html(template, locale, **context))
