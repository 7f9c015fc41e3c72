"""PDFs: the application, the receipt and the blank form, read back with pypdf; and the URL
fetcher that keeps local files and the network out of every PDF."""

from __future__ import annotations

import io
import re

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from pypdf import PdfReader

from grants.applications import pdf
from grants.applications import services as applications
from grants.core.pdf import BASE_URL, STYLESHEET_URL, PDFURLFetcher, RefusedURL, css_string, html_to_pdf
from grants.i18n import format_money

KAZAKH_LETTERS = "әғқңөұүһі"
HOSTILE = "<img src='file:///etc/passwd'> <script>alert(1)</script>"


@pytest.fixture
def kazakh(ready):
    """The complete draft of applications/conftest.py, rewritten with every Kazakh letter, a
    two-line summary and a fractional budget quantity."""
    lead, partner = ready.lead_org.id, ready.partner_org.id
    data = {
        "title": "Арал өңірінде қалдықтарды сұрыптау",
        "summary": "Бірінші жол: ауыл тұрғындарымен бірге жұмыс.\nЕкінші жол: жиһаз бен үй қалдықтары, гауһар.",
        "requested_amount": "1500000",
        "budget_lines": [
            {
                "organization_id": lead,
                "category": "staff",
                "description": "Үйлестіруші жалақысы",
                "quantity": "2",
                "unit_cost": "500000",
            },
            {
                "organization_id": partner,
                "category": "travel",
                "description": "Ауылдарға сапар",
                "quantity": "1.5",
                "unit_cost": "200000",
            },
            {
                "organization_id": partner,
                "category": "equipment",
                "description": "Контейнерлер",
                "quantity": "1",
                "unit_cost": "200000",
            },
        ],  # fmt: skip
    }
    applications.save(ready.lead_user, ready.app, data, version=ready.app.version)
    return ready


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def page_texts(data: bytes) -> list[str]:
    return [normalize(page.extract_text()) for page in read(data).pages]


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


def fonts(data: bytes) -> set[str]:
    names = set()
    for page in read(data).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_application_pdf_in_kazakh_has_every_letter_the_budget_total_and_page_numbers(kazakh):
    data = pdf.application_pdf(kazakh.app, "kk")
    pages = page_texts(data)
    text = " ".join(pages)
    assert len(pages) >= 1
    assert all(letter in text for letter in KAZAKH_LETTERS), text
    assert "Арал өңірінде қалдықтарды сұрыптау" in text
    assert kazakh.partner_org.name in text and kazakh.partner_org.bin in text
    with force_locale("kk"):
        assert normalize(format_money(1_500_000)) in text  # the grand total
        assert normalize(format_money(300_000)) in text  # 1.5 × 200 000, rounded per line
        footers = [normalize(_("Page %(page)s of %(pages)s", page=i, pages=len(pages))) for i in range(1, 4)]
    for number, page in enumerate(pages, start=1):
        assert footers[number - 1] in page
    # A4, the stylesheet applied (DejaVu from the system, no other font)
    box = read(data).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert all("DejaVu" in name for name in fonts(data)), fonts(data)


def test_application_pdf_keeps_line_breaks(kazakh):
    text = "\n".join(page.extract_text() for page in read(pdf.application_pdf(kazakh.app, "kk")).pages)
    lines = [line.strip() for line in text.splitlines()]
    assert "Бірінші жол: ауыл тұрғындарымен бірге жұмыс." in lines


def test_markup_in_user_text_is_printed_literally_and_never_loaded(kazakh):
    application = kazakh.app
    applications.save(
        kazakh.lead_user, application, {"summary": HOSTILE, "problem": HOSTILE}, version=application.version
    )
    data = pdf.application_pdf(application, "en")
    text = " ".join(page_texts(data))
    assert "<img src='file:///etc/passwd'>" in text
    assert "<script>alert(1)</script>" in text
    assert "root:x:0:0" not in text and b"root:x:0:0" not in data


def test_fetcher_serves_only_the_stylesheet():
    fetcher = PDFURLFetcher()
    for url in (
        "file:///etc/passwd",
        "http://example.com/x.png",
        "https://example.com/x.css",
        "data:text/plain,hello",
        "pdf.css",
        "grants-pdf:/../../etc/passwd",
        STYLESHEET_URL + "?x=1",
    ):
        with pytest.raises(RefusedURL):
            fetcher(url)
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    response = fetcher(STYLESHEET_URL)
    assert response.content_type == "text/css"
    assert b"DejaVu Sans" in response.read()


def test_references_in_html_go_only_to_the_fetcher_and_are_refused(app, monkeypatch):
    """End to end through the same conversion: images, stylesheets, @import, url(), fonts,
    attachments and relative paths are all asked of the fetcher, which refuses them."""
    asked: list[str] = []
    original = PDFURLFetcher.fetch

    def spy(self, url, headers=None):
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(PDFURLFetcher, "fetch", spy)
    html = f"""<html><head>
    <link rel="stylesheet" href="{STYLESHEET_URL}">
    <link rel="stylesheet" href="file:///etc/passwd">
    <link rel="attachment" href="file:///etc/passwd">
    <style>
      @import url("http://127.0.0.1:9/evil.css");
      @font-face {{ font-family: Evil; src: url(file:///etc/passwd); }}
      body {{ background: url(http://example.com/x.png); font-family: Evil, "DejaVu Sans"; }}
    </style></head>
    <body><p>Сәлем</p><img src="file:///etc/passwd" alt=""><img src="../../etc/passwd" alt="">
    <img src="data:image/png;base64,iVBORw0KGgo=" alt=""></body></html>"""
    data = html_to_pdf(html)
    assert STYLESHEET_URL in asked
    assert "file:///etc/passwd" in asked and "http://example.com/x.png" in asked
    assert any(url.endswith("etc/passwd") and not url.startswith("file:") for url in asked)  # the relative one
    assert b"root:x:0:0" not in data
    assert "root:x:0:0" not in " ".join(page_texts(data))
    assert not read(data).attachments
    assert BASE_URL == "grants-pdf:/"


def test_translated_texts_cannot_break_out_of_the_css_string():
    value = str(css_string('Бет "1" \\ </style><script>\n'))
    assert value.startswith('"') and value.endswith('"')
    assert re.fullmatch(r'(?:[^"\\<>\n]|\\[0-9a-f]+ )*', value[1:-1]), value
    assert "Бет" in value


def test_receipt_shows_the_number_and_the_full_sha256(kazakh):
    application = kazakh.app
    assert applications.problems(application) == []
    submission = applications.submit(kazakh.lead_user, application)
    data = pdf.receipt_pdf(application, submission, "ru")
    pages = page_texts(data)
    assert len(pages) == 1
    compact = re.sub(r"\s+", "", pages[0])
    assert re.fullmatch(r"[0-9a-f]{64}", submission.sha256)
    assert submission.sha256 in compact  # in full, wherever it wraps
    assert submission.receipt_number == f"{kazakh.call.code}-0001" and submission.receipt_number in compact
    assert "Арал өңірінде қалдықтарды сұрыптау" in pages[0]
    assert kazakh.consortium.name in pages[0] and kazakh.lead_org.name in pages[0]
    assert "UTC+5" in pages[0]
    assert any("Mono" in name for name in fonts(data))

    # The whole application, once submitted, carries the receipt too.
    text = re.sub(r"\s+", "", " ".join(page_texts(pdf.application_pdf(application, "ru"))))
    assert submission.receipt_number in text and submission.sha256 in text


def test_blank_form_in_russian_lists_criteria_and_every_section(app, frozen, make_call):
    from grants.applications.sections import DECLARATIONS, SECTIONS

    call = make_call(publish=True)
    data = pdf.blank_form_pdf(call, "ru")
    text = " ".join(page_texts(data))
    assert "Чистая вода" in text and "SG-2027-1" in text
    for title in ("Актуальность", "Реалистичность", "Результаты"):
        assert title in text
    with force_locale("ru"):
        headings = [normalize(str(label)) for label in SECTIONS.values()]
        declarations = [normalize(str(label)) for label in DECLARATIONS.values()]
        assert normalize(format_money(5_000_000)) in text
    for heading in headings:
        assert heading in text
    for declaration in declarations:
        assert declaration in text
    assert "☐" in text
