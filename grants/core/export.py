"""Tables as downloads: CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic) or XLSX."""

from __future__ import annotations

import csv
import io

from flask import Response, abort

from .uploads import download

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(name: str, header: list[str], rows: list[list], fmt: str) -> Response:
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
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        data, mimetype = buffer.getvalue(), XLSX
    else:
        abort(404)
    return download(data, name=f"{name}.{fmt}", content_type=mimetype)
