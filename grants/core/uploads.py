"""Uploads checked by their content (never by name), size-limited, stored with SHA-256."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from .errors import PayloadTooLarge, UnsupportedMediaType

KINDS = {
    "pdf": ("application/pdf", ".pdf"),
    "jpeg": ("image/jpeg", ".jpg"),
    "png": ("image/png", ".png"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}
EVIDENCE_KINDS = ("pdf", "jpeg", "png")
DOCUMENT_KINDS = tuple(KINDS)


def sniff(data: bytes) -> str | None:
    """The kind of file the bytes really are, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names:
            if any(n.startswith("word/") for n in names):
                return "docx"
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
    return None


@dataclass
class StoredFile:
    path: str
    filename: str
    size: int
    sha256: str
    content_type: str


def _allowed_names(kinds) -> str:
    return ", ".join(k.upper() for k in kinds)


def store(upload: FileStorage, *, allowed=DOCUMENT_KINDS, folder: str = "files") -> StoredFile:
    """Check and store an upload; raise 413 or 415 errors with a translated message."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(
            _("The file is larger than %(mb)d MB. Please reduce it and try again.", mb=limit // (1024 * 1024)),
            fields={"file": [_("The file is too large.")]},
        )
    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise UnsupportedMediaType(
            _("This file type is not accepted. Allowed: %(kinds)s.", kinds=_allowed_names(allowed)),
            fields={"file": [_("The file's content is not an allowed type.")]},
        )
    content_type, extension = KINDS[kind]
    base = secure_filename(upload.filename or "") or "file"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    filename = f"{stem}{extension}"
    relative = Path(folder) / f"{uuid.uuid4().hex}{extension}"
    target = Path(current_app.config["UPLOAD_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return StoredFile(str(relative), filename, len(data), hashlib.sha256(data).hexdigest(), content_type)


def absolute(path: str) -> Path:
    root = Path(current_app.config["UPLOAD_DIR"]).resolve()
    full = (root / path).resolve()
    if root not in full.parents:
        raise FileNotFoundError(path)
    return full
