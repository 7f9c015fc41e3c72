"""Where uploads, evidence, issued letters and exports are kept: a local folder (the default,
`make run`: UPLOAD_DIR) or an S3-compatible bucket that every web and worker host shares
(GRANTS_STORAGE_URL=s3://bucket/prefix, GRANTS_S3_ENDPOINT_URL for MinIO and the like; keys from
the usual AWS_* variables). Objects stay private: downloads are streamed back through the app,
which checks who may read them.

A key is the relative path kept in a `path` column ("attachments/ab12….pdf", "letters/3-v1-C0DE.pdf");
one that could leave the root ("..", "/etc/passwd", a backslash) is refused. Services store through
`save`, which deletes the object again when the transaction that wrote it does not commit."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

log = logging.getLogger(__name__)
CHUNK = 256 * 1024


class BadKey(ValueError):
    """A key that is not a plain relative path inside the storage root."""


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key or "\\" in key or "\x00" in key or key.startswith("/"):
        raise BadKey(repr(key))
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise BadKey(repr(key))
    return key


def _check_prefix(prefix: str) -> str:
    if prefix:
        check_key(prefix.rstrip("/"))
    return prefix


class Storage(Protocol):
    url_kind: str

    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def get(self, key: str) -> bytes: ...
    def open(self, key: str) -> BinaryIO: ...
    def exists(self, key: str) -> bool: ...
    def modified(self, key: str) -> datetime: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...
    def ping(self) -> None: ...


class LocalStorage:
    """A folder; writes go to a temporary file first and are renamed into place, so a reader on
    another process never sees half a file."""

    url_kind = "file"

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path(self, key: str) -> Path:
        full = (self.root / check_key(key)).resolve()
        if self.root not in full.parents:  # a symlink pointing out of the root
            raise BadKey(repr(key))
        return full

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def modified(self, key: str) -> datetime:
        return datetime.fromtimestamp(self.path(key).stat().st_mtime, UTC)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> Iterator[str]:
        _check_prefix(prefix)
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".tmp-") and key.startswith(prefix):
                yield key

    def ping(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"{self.root} is not writable")


class S3Storage:
    """A bucket (and a prefix inside it) on AWS S3 or any S3-compatible server."""

    url_kind = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.client = client or _s3_client(endpoint_url)

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix})"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _missing(self, error) -> bool:
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(key) from None
            raise
        body = answer["Body"]
        body.size, body.content_type = answer.get("ContentLength"), answer.get("ContentType")
        return body

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))["ContentLength"]
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(key) from None
            raise

    def modified(self, key: str) -> datetime:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))["LastModified"]
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(key) from None
            raise

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + _check_prefix(prefix)
        )
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"][len(self.prefix) :]
                try:  # an object put there by other means ("a/../x", a "folder/" marker) is none of ours
                    yield check_key(key)
                except BadKey:
                    continue

    def ping(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)


def _s3_client(endpoint_url: str | None):
    import boto3
    from botocore.config import Config

    options = {"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 3, "mode": "standard"}}
    if endpoint_url:  # MinIO, moto and most S3-compatible servers want the bucket in the path
        options["s3"] = {"addressing_style": "path"}
    # A session of its own: boto3's default session is not safe to share between threads.
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=Config(**options))


def from_url(url: str, *, endpoint_url: str | None = None) -> Storage:
    """`s3://bucket/prefix`, `file:///srv/uploads` or a plain folder path."""
    if url.startswith("s3://"):
        bucket, _slash, prefix = url[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {url!r}")
        return S3Storage(bucket, prefix, endpoint_url=endpoint_url)
    if url.startswith("file://"):
        url = url[len("file://") :]
    return LocalStorage(url)


def configured_url(config) -> str:
    return config.get("STORAGE_URL") or config["UPLOAD_DIR"]


def storage() -> Storage:
    """The configured backend of the current app (one per process: a worker forks after start-up)."""
    app = current_app._get_current_object()
    url, endpoint = configured_url(app.config), app.config.get("S3_ENDPOINT_URL")
    cache = app.extensions.setdefault("grants.storage", {})
    ident = (os.getpid(), url, endpoint)
    backend = cache.get(ident)
    if backend is None:
        backend = cache[ident] = from_url(url, endpoint_url=endpoint)
    return backend


def save(key: str, data: bytes, content_type: str) -> None:
    """Store an object as part of the current transaction: if that ends without committing (a
    refusal, an error), the object is deleted again."""
    from .db import on_rollback

    backend = storage()
    backend.put(key, data, content_type)

    def forget() -> None:
        backend.delete(key)
        log.info("deleted %s from storage: its transaction did not commit", key)

    on_rollback(forget)


def chunks(fileobj: BinaryIO) -> Iterator[bytes]:
    with fileobj:
        while chunk := fileobj.read(CHUNK):
            yield chunk
