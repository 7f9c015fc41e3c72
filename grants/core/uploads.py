"""Uploads checked by their content (never by name), size-limited, stored with SHA-256.

The file on disk (or in the bucket) is named by a random key; the name the person gave is kept,
in any script («Устав ОФ Арал.pdf»), only for showing and for the download's
Content-Disposition (RFC 6266: an ASCII `filename` for old clients, `filename*` in UTF-8)."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Response, current_app, send_file
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from . import storage
from .errors import PayloadTooLarge, UnsupportedMediaType
from .search import translit
from .storage import BadKey, LocalStorage

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
    filename = display_name(upload.filename, extension)
    relative = f"{folder}/{uuid.uuid4().hex}{extension}"
    storage.save(relative, data, content_type)
    return StoredFile(relative, filename, len(data), hashlib.sha256(data).hexdigest(), content_type)


# --- names --------------------------------------------------------------------------------

NAME_LIMIT = 255  # the file name columns (core.db.StoredFile.filename and the like) are String(255)
DEFAULT_STEM = "file"
# Bidirectional controls could make "exe.pdf" look like "fdp.exe" (and reorder a page's text).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ/ZWJ spell words in some scripts and emoji: kept
_EXTENSION = re.compile(r"[A-Za-z][A-Za-z0-9]{0,4}")


def _clean_characters(name: str) -> str:
    out = []
    for char in name:
        category = unicodedata.category(char)
        if category == "Cc":  # NUL, tab, newline, escape… become a space (then collapsed)
            out.append(" ")
        elif char in _BIDI or (category == "Cf" and char not in _JOINERS) or category in ("Cs", "Co", "Cn"):
            continue
        else:
            out.append(char)
    return "".join(out)


def display_name(raw: str | None, extension: str, *, limit: int = NAME_LIMIT) -> str:
    """The name a person gave a file, safe to store and show: no folders («../../x»,
    "C:\\fakepath\\x"), no control or bidi characters, whitespace collapsed, at most `limit`
    characters; its extension is the one of the content really sniffed, whatever the name said
    («Жарғы (2026).pdf» stays so; "photo.pdf" with PNG content becomes "photo.png")."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_clean_characters(name).split())
    stem, dot, suffix = name.rpartition(".")
    if dot and _EXTENSION.fullmatch(suffix):
        name = stem
    # No leading dots (a hidden file, "..") nor trailing ones (Windows drops them).
    name = name.strip(" .")[: max(limit - len(extension), 1)].rstrip(" .") or DEFAULT_STEM
    return f"{name}{extension}"


def ascii_name(name: str) -> str:
    """An ASCII stand-in for clients that do not read `filename*`: «Устав ОФ Арал.pdf» →
    "Ustav OF Aral.pdf" (transliterated, not "    .pdf")."""
    latin = unicodedata.normalize("NFKD", translit(name)).encode("ascii", "ignore").decode("ascii")
    latin = " ".join("".join(c if c.isprintable() and c not in '"\\' else " " for c in latin).split())
    stem, dot, suffix = latin.rpartition(".")
    if dot and not stem.strip(" ."):
        latin = f"{DEFAULT_STEM}.{suffix}"
    return latin.strip(" ") or DEFAULT_STEM


def content_disposition(name: str, *, inline: bool = False) -> str:
    """`attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>` (RFC 6266/8187)."""
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{'inline' if inline else 'attachment'}; filename=\"{ascii_name(name)}\"; filename*=UTF-8''{encoded}"


def download(data: bytes, *, name: str, content_type: str, private: bool = True) -> Response:
    """Bytes made on the fly (PDFs, calendars, exports) as a download named `name`."""
    headers = {"Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"}
    if private:
        headers["Cache-Control"] = "private, no-store"
    return Response(data, mimetype=content_type, headers=headers)


def send(path: str, *, name: str, content_type: str, private: bool = True) -> Response:
    """A stored upload as a download under the name its owner gave it. From a bucket the bytes
    are streamed through the app (objects are private; the view has checked who may read)."""
    backend = storage.storage()
    if backend.url_kind == "file":
        response = send_file(backend.path(path), mimetype=content_type, as_attachment=True,
                             download_name=ascii_name(name))  # fmt: skip
    else:
        body = backend.open(path)
        response = Response(storage.chunks(body), mimetype=content_type, direct_passthrough=True)
        response.content_length = body.size
        response.call_on_close(body.close)  # also when the download never starts (HEAD, a client gone)
    response.headers["Content-Disposition"] = content_disposition(name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if private:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def read(path: str) -> bytes:
    """A stored file's bytes (FileNotFoundError when it is gone)."""
    return storage.storage().get(path)


def absolute(path: str) -> Path:
    """Where a stored file lies on this host (the local folder backend only; kept for tests)."""
    backend = storage.storage()
    if not isinstance(backend, LocalStorage):
        raise FileNotFoundError(path)
    try:
        return backend.path(path)
    except BadKey:
        raise FileNotFoundError(path) from None
