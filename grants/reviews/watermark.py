"""Watermarks on what a reviewer downloads: the application PDF and PDF attachments carry, on
every page, a line naming the reviewer's seat and the date ("Reviewer 2 · 2027-04-01 ·
confidential") along the bottom edge and the same text, faint and large, across the diagonal.

The stamp pages are drawn by WeasyPrint through grants.core.pdf (locked-down fetcher, system
DejaVu fonts, so every Kazakh letter), one page per distinct page size, and laid over each page
of the original with pypdf: scaled to the page's visible box and turned against its /Rotate so
the text reads upright however the page is displayed. The edge line is horizontal, so text
extraction and search find it; the diagonal is only for the eye."""

from __future__ import annotations

import io
import math
import zlib
from collections import Counter
from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PyPdfError

from ..core.pdf import html_to_pdf

MAX_TEXT = 200  # characters of watermark text
MAX_STAMP_SIZES = 8  # distinct page sizes drawn exactly; pages of other sizes reuse the nearest
MIN_SIDE, MAX_SIDE = 72.0, 14400.0  # points; the stamp is drawn within these and scaled to the page
PDF_HEADER = b"%PDF-"

# What pypdf may raise on a damaged or hostile file besides its own errors.
_BROKEN = (PyPdfError, KeyError, IndexError, TypeError, AttributeError, RecursionError, OverflowError, zlib.error)


def watermark_text(seat: int, when: date, locale: str) -> str:
    """The watermark for the reviewer in `seat` on `when`, in `locale` (the date in ISO form,
    the same in every language)."""
    with force_locale(locale):
        return _("Reviewer %(n)d · %(date)s · confidential", n=seat, date=when.isoformat())


def stamp(pdf_bytes: bytes, text: str) -> bytes:
    """`pdf_bytes` with `text` laid over every page. Page count, page sizes, rotation and the
    original content stay as they were. Raises ValueError for input that is not a readable,
    unencrypted PDF with at least one page (and for empty or overlong text)."""
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("the watermark text is empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"the watermark text is longer than {MAX_TEXT} characters")
    data = bytes(pdf_bytes)
    # The header may follow a little junk (PDF 1.7, annex H), never more than 1 KB of it.
    if PDF_HEADER not in data[:1024]:
        raise ValueError("not a PDF")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValueError("encrypted PDFs cannot be watermarked")
        if len(reader.pages) == 0:
            raise ValueError("the PDF has no pages")
        writer = PdfWriter(clone_from=reader)
        pages = list(writer.pages)
        geometry = [_geometry(page) for page in pages]
        sizes = _stamp_sizes([size for _box, _rotation, size in geometry])
        # Owned by the writer, so that pages sharing a resource dictionary share the stamp's
        # fonts under one name too (stamps from another file would be renamed on every page).
        stamps = [page.clone(writer, ignore_fields=("/Parent",)) for page in _stamp_pages(text, sizes)]
        for page, (box, rotation, size) in zip(pages, geometry, strict=True):
            stamp_page = stamps[_nearest(size, sizes)]
            page.merge_transformed_page(stamp_page, _placement(stamp_page, box, rotation))
            page.compress_content_streams()
        # The replaced content streams and the cloned stamp pages stay behind unless dropped.
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except ValueError:
        raise
    except _BROKEN as exc:
        raise ValueError(f"not a readable PDF ({type(exc).__name__})") from exc
    return out.getvalue()


# --- geometry ----------------------------------------------------------------------------


def _geometry(page: PageObject) -> tuple[tuple[float, float, float, float], int, tuple[float, float]]:
    """The visible box (crop box, which defaults to the media box) as (left, bottom, width,
    height), the page's rotation (0, 90, 180 or 270) and its size as displayed."""
    box = page.cropbox
    x0, x1 = sorted((float(box.left), float(box.right)))
    y0, y1 = sorted((float(box.bottom), float(box.top)))
    width, height = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    try:
        rotation = int(page.rotation) % 360
    except (TypeError, ValueError):
        rotation = 0
    if rotation not in (0, 90, 180, 270):
        rotation = 0
    shown = (height, width) if rotation in (90, 270) else (width, height)
    return (x0, y0, width, height), rotation, shown


def _clamp(size: tuple[float, float]) -> tuple[float, float]:
    return tuple(round(min(max(side, MIN_SIDE), MAX_SIDE)) for side in size)


def _stamp_sizes(shown: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The page sizes to draw a stamp for: the most frequent ones, at most MAX_STAMP_SIZES."""
    return [size for size, _count in Counter(_clamp(size) for size in shown).most_common(MAX_STAMP_SIZES)]


def _nearest(size: tuple[float, float], sizes: list[tuple[float, float]]) -> int:
    """Index of the drawn size for a page: its own, else the one of the closest proportions
    (then the closest area), so that scaling distorts the text least."""
    size = _clamp(size)
    if size in sizes:
        return sizes.index(size)

    def distance(candidate):
        aspect = abs(math.log((candidate[0] / candidate[1]) / (size[0] / size[1])))
        area = abs(math.log((candidate[0] * candidate[1]) / (size[0] * size[1])))
        return (round(aspect, 2), area)

    return min(range(len(sizes)), key=lambda i: distance(sizes[i]))


def _placement(stamp_page: PageObject, box, rotation: int) -> Transformation:
    """Maps the upright stamp onto the page's box in default user space: scaled to the size
    the page is displayed at, turned back against /Rotate (which turns the page clockwise when
    shown) and moved to the box's corner."""
    left, bottom, width, height = box
    shown_width, shown_height = (height, width) if rotation in (90, 270) else (width, height)
    media = stamp_page.mediabox
    sx = shown_width / float(media.width)
    sy = shown_height / float(media.height)
    t = Transformation().translate(-float(media.left), -float(media.bottom)).scale(sx, sy)
    if rotation == 90:
        t = t.rotate(90).translate(width, 0)
    elif rotation == 180:
        t = t.rotate(180).translate(width, height)
    elif rotation == 270:
        t = t.rotate(270).translate(0, height)
    return t.translate(left, bottom)


# --- the stamp pages ---------------------------------------------------------------------


def _stamp_pages(text: str, sizes: list[tuple[float, float]]) -> list[PageObject]:
    """One stamp page per size, all drawn in a single WeasyPrint document."""
    pdf = PdfReader(io.BytesIO(html_to_pdf(stamp_html(text, sizes))))
    if len(pdf.pages) != len(sizes):  # pragma: no cover - the layout always gives one page per size
        raise RuntimeError(f"watermark: {len(pdf.pages)} stamp pages for {len(sizes)} sizes")
    return list(pdf.pages)


def stamp_html(text: str, sizes: list[tuple[float, float]]) -> str:
    """The stamp document: page i has size sizes[i] (points) and shows `text` once along the
    bottom edge and once, faint, along the rising diagonal."""
    styles, bodies = [], []
    for i, (width, height) in enumerate(sizes):
        short = min(width, height)
        diagonal = math.hypot(width, height)
        angle = -math.degrees(math.atan2(height, width))
        # DejaVu Sans averages a little over 0.6 em per character: 70 % of the diagonal.
        big = max(8.0, min(0.7 * diagonal / (0.62 * len(text)), short / 9))
        small = max(5.0, min(short / 595 * 7.5, 14.0))
        edge = short / 595 * 10  # about 3.5 mm from the bottom on A4
        styles.append(f"@page s{i} {{ size: {width}pt {height}pt; margin: 0; }}")
        bodies.append(
            f'<div class="p" style="page: s{i}; width: {width}pt; height: {height - 1}pt">'
            f'<div class="d" style="left: {(width - diagonal) / 2:.2f}pt; width: {diagonal:.2f}pt; '
            f"top: {height / 2 - big * 0.7:.2f}pt; font-size: {big:.2f}pt; line-height: {big * 1.4:.2f}pt; "
            f'transform: rotate({angle:.3f}deg)">{escape(text)}</div>'
            f'<div class="e" style="bottom: {edge:.2f}pt; font-size: {small:.2f}pt">{escape(text)}</div>'
            "</div>"
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><style>'
        + " ".join(styles)
        + """
html, body { margin: 0; padding: 0; font-family: "DejaVu Sans", sans-serif; }
.p { position: relative; overflow: hidden; break-after: page; }
.p:last-child { break-after: auto; }
.d { position: absolute; text-align: center; white-space: nowrap; font-weight: bold;
     color: rgba(190, 30, 30, 0.12); transform-origin: 50% 50%; }
.e { position: absolute; left: 0; right: 0; text-align: center; white-space: nowrap;
     color: rgba(160, 0, 0, 0.85); }
</style></head><body>"""
        + "".join(bodies)
        + "</body></html>"
    )
