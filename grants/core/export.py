"""Tables as downloads: CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic) or XLSX.

Cells come from people (organization names, titles, indicators): a text starting with = + - @, a
tab or a carriage return (also after leading spaces) would be run as a formula by a spreadsheet
program (CSV/formula injection, ASVS V1.2.10). Such a text is written with a leading apostrophe,
and every text cell of an XLSX is stored as text, never as a formula. Numbers stay numbers."""

from __future__ import annotations

import csv
import io

from flask import Response, abort

from .uploads import download

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralised(value):
    """A cell's value as it is safe to write: a text a spreadsheet would read as a formula gets a
    leading apostrophe (shown by spreadsheet programs as the text itself)."""
    if isinstance(value, str) and value.lstrip(" \u00a0").startswith(_FORMULA_START):
        return "'" + value
    return value


def table_response(name: str, header: list[str], rows: list[list], fmt: str) -> Response:
    header = [neutralised(cell) for cell in header]
    rows = [[neutralised(cell) for cell in row] for row in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        data, mimetype = "\ufeff" + buffer.getvalue(), "text/csv"
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = name.rsplit("-", 1)[-1][:31]
        for values in [header, *rows]:
            sheet.append(values)
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, even if it looks like a formula
        buffer = io.BytesIO()
        book.save(buffer)
        data, mimetype = buffer.getvalue(), XLSX
    else:
        abort(404)
    return download(data, name=f"{name}.{fmt}", content_type=mimetype)
