"""What a reviewer downloads: watermarks on every page of the application PDF and of PDF
attachments (read back with pypdf), and the blind application PDF without names or BINs."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from applications import conftest as application_fixtures
from flask_babel import force_locale
from flask_babel import gettext as _
from pypdf import PdfReader, PdfWriter
from werkzeug.datastructures import FileStorage

from grants.applications import pdf
from grants.applications import services as applications
from grants.core import uploads
from grants.core.pdf import html_to_pdf
from grants.reviews.watermark import stamp, watermark_text

# The draft of applications/conftest.py (its "complete" content) for the blind PDF.
world, ready = application_fixtures.world, application_fixtures.ready

TEXT = "Reviewer 2 · 2027-04-01 · confidential"


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


def texts(data: bytes) -> list[str]:
    return [normalize(page.extract_text()) for page in PdfReader(io.BytesIO(data)).pages]


def two_pages() -> bytes:
    return html_to_pdf(
        "<html><head><style>@page { size: A4; }</style></head><body>"
        "<p>First page: Арал өңірі</p><p style='break-before: page'>Second page: қалдықтар</p></body></html>"
    )


def attachment_like() -> bytes:
    """What applicants upload: pages of mixed sizes, a scanned-style page turned with /Rotate,
    and an empty page without content or resources."""
    writer = PdfWriter()
    landscape = html_to_pdf("<html><head><style>@page { size: A5 landscape; }</style></head><body><p>Charter</p>")
    writer.append(PdfReader(io.BytesIO(landscape)))
    writer.append(PdfReader(io.BytesIO(two_pages())))
    writer.pages[1].rotate(90)
    writer.pages[2].rotate(270)
    writer.add_blank_page(612, 792)  # US Letter
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def upright_lines(page, needle: str) -> list[tuple[float, float]]:
    """(x, y) as displayed, relative to the displayed size, of every horizontal left-to-right
    run of text containing `needle`, after the page's /Rotate."""
    rotation = page.rotation % 360
    box = page.cropbox
    width, height = float(box.width), float(box.height)
    found = []

    def visit(text, cm, tm, _font, _size):
        if needle not in text:
            return
        a, b, c, d, e, f = tm
        m = [
            a * cm[0] + b * cm[2],
            a * cm[1] + b * cm[3],
            0,
            0,
            e * cm[0] + f * cm[2] + cm[4],
            e * cm[1] + f * cm[3] + cm[5],
        ]
        dx, dy = m[0], m[1]
        x, y = m[4] - float(box.left), m[5] - float(box.bottom)
        shown = {  # direction and origin as displayed (turned clockwise by /Rotate)
            0: ((dx, dy), (x / width, y / height)),
            90: ((dy, -dx), (y / height, (width - x) / width)),
            180: ((-dx, -dy), ((width - x) / width, (height - y) / height)),
            270: ((-dy, dx), ((height - y) / height, x / width)),
        }[rotation]
        (sx, sy), origin = shown
        if sx > 0 and abs(sy) < 1e-6 * abs(sx):
            found.append(origin)

    page.extract_text(visitor_text=visit)
    return found


def test_every_page_of_a_generated_pdf_carries_the_watermark_and_keeps_its_text():
    original = two_pages()
    stamped = stamp(original, TEXT)
    before, after = texts(original), texts(stamped)
    assert len(after) == len(before) == 2
    for old, new in zip(before, after, strict=True):
        assert old in new
        assert TEXT in new and "Reviewer 2" in new
    assert "Second page: қалдықтар" in after[1]


def test_attachments_of_mixed_sizes_and_rotations_are_stamped_upright_on_every_page():
    original = attachment_like()
    stamped = stamp(original, "Эксперт 3 · 2027-04-01 · құпия")
    source, result = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(stamped))
    assert len(result.pages) == len(source.pages) == 4
    for old, new in zip(source.pages, result.pages, strict=True):
        # size and rotation unchanged, the original text still there, the watermark added
        assert [round(float(v), 2) for v in new.mediabox] == [round(float(v), 2) for v in old.mediabox]
        assert new.rotation == old.rotation
        assert normalize(old.extract_text()) in normalize(new.extract_text())
        assert "Эксперт 3 · 2027-04-01 · құпия" in normalize(new.extract_text())
        # the edge line reads left to right as displayed, near the bottom, roughly centred
        lines = upright_lines(new, "Эксперт 3")
        assert lines, new.rotation
        assert any(0.05 < x < 0.5 and y < 0.05 for x, y in lines), (new.rotation, lines)
    assert texts(stamped)[1].startswith("First page: Арал өңірі")


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"MZ\x90\x00" + b"\x00" * 64, b"PK\x03\x04 not a pdf", b"%PDF-1.7\n garbage without pages"],
)
def test_what_is_not_a_pdf_is_refused(data):
    with pytest.raises(ValueError):
        stamp(data, TEXT)


def test_encrypted_pdfs_and_empty_text_are_refused():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(two_pages())))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ValueError, match="encrypted"):
        stamp(out.getvalue(), TEXT)
    with pytest.raises(ValueError):
        stamp(two_pages(), "  ")


def test_watermark_text_is_translated(app):
    when = date(2027, 4, 1)
    assert watermark_text(2, when, "en") == TEXT
    for locale in ("kk", "ru"):
        text = watermark_text(2, when, locale)
        assert "2" in text and "2027-04-01" in text
        with force_locale(locale):
            assert text == _("Reviewer %(n)d · %(date)s · confidential", n=2, date="2027-04-01")


@pytest.fixture
def submitted(ready):
    """The complete application of applications/conftest.py with an attachment whose file name
    names the lead organization, submitted."""
    attachment = applications.add_attachment(
        ready.lead_user, ready.app, FileStorage(io.BytesIO(two_pages()), filename="Aral-NGO-charter.pdf")
    )
    applications.submit(ready.lead_user, ready.app)
    ready.attachment = attachment
    return ready


NAMES = ("Арал ҮЕҰ", "Жас Дала", "Арал консорциумы", "Aral-NGO-charter")


def test_blind_application_pdf_hides_names_and_bins(submitted):
    bins = (submitted.lead_org.bin, submitted.partner_org.bin)
    blind = " ".join(texts(pdf.application_pdf(submitted.app, "ru", blind=True)))
    compact = re.sub(r"\s+", "", blind)
    assert "Таза Арал" in blind
    assert "Еріктілерді оқытады" in blind  # the partner's role, under its label
    for hidden in NAMES:
        assert hidden not in blind, hidden
    for number in bins:
        assert number not in compact, number
    with force_locale("ru"):
        for label in (_("Lead organization"), _("Partner %(n)d", n=1), _("Region")):
            assert normalize(label) in blind, label

    named = " ".join(texts(pdf.application_pdf(submitted.app, "ru")))
    for shown in NAMES:
        assert shown in named, shown
    assert all(number in re.sub(r"\s+", "", named) for number in bins)


def test_the_blind_pdf_and_the_stored_attachment_take_the_watermark(submitted):
    text = watermark_text(1, date(2027, 4, 1), "en")
    for data in (
        pdf.application_pdf(submitted.app, "ru", blind=True),
        uploads.absolute(submitted.attachment.path).read_bytes(),
    ):
        before, after = texts(data), texts(stamp(data, text))
        assert len(after) == len(before)
        assert all("Reviewer 1" in page and old in page for old, page in zip(before, after, strict=True))
