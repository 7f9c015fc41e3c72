"""`grants backup DIR` and `grants restore DIR`: the database, every stored object and a manifest.

A backup folder holds
- `database.dump`: pg_dump's custom format (PostgreSQL), or `database.sqlite3` (SQLite, `make run`:
  a consistent copy made with SQLite's online backup API);
- `objects/<key>`: every object of the storage (uploads, evidence, letters), whatever its backend;
- `manifest.json`: the SHA-256 and size of each of those files, the object content types, the app
  version, the database's migration and the code's migration head, and when it was made.

The database is dumped first and the objects copied after: an object is written before the
transaction that names it commits, so every object the dump refers to is in the copy (an object
stored meanwhile is copied too, harmlessly unreferenced).

`restore` refuses a database that has any table or a storage that has any object, and a folder
whose files do not match the manifest (a changed, missing or added file). It then restores the
dump and puts the objects back under their keys. Receipts' SHA-256 (stored with each frozen
submission) and letters' verification codes and SHA-256 come back with the rows and the bytes.
Operator output: English, no translation."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from ..core.storage import CHUNK, check_key, storage
from ..extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
OBJECTS = "objects"
DUMPS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
SECTIONS = ("migration", "database", "storage", "files")


class BackupError(Exception):
    """Why a backup or a restore was refused (shown to the operator as it is)."""


# --- backup ---------------------------------------------------------------------------------------


def backup(app: Flask, target: Path) -> dict:
    """Write the backup into `target` (new or empty) and return its manifest."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder; give a new one for each backup")
    target.mkdir(parents=True, exist_ok=True)
    kind = _database_kind(app)
    with app.app_context():
        revision = _database_revision()
        dump = target / DUMPS[kind]
        if kind == "postgresql":
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"], app)
        else:
            _dump_sqlite(app, dump)
        files = {dump.name: _digest_file(dump)}
        backend = storage()
        content_types = {}
        for key in backend.keys():
            name = f"{OBJECTS}/{key}"
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            try:
                source = backend.open(key)
            except FileNotFoundError:  # deleted meanwhile (a transaction that rolled back): not in the dump either
                continue
            with source, destination.open("wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                content_types[key] = getattr(source, "content_type", None) or _guess_type(key)
            files[name] = {"sha256": digest.hexdigest(), "size": size}
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "app_version": app_version(),
        "migration": {"database": revision, "code_head": code_head(app)},
        "database": {"kind": kind, "file": dump.name},
        "storage": {"kind": backend.url_kind, "objects": len(content_types), "content_types": content_types},
        "files": files,
    }
    temporary = target / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    temporary.replace(target / MANIFEST)
    return manifest


def _dump_sqlite(app: Flask, dump: Path) -> None:
    source, copy = sqlite3.connect(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database), sqlite3.connect(dump)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


# --- restore --------------------------------------------------------------------------------------


def verify(source: Path) -> dict:
    """The manifest, once every file it lists has its size and SHA-256 and no other file is there."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"no readable {MANIFEST} in {source}: {error}") from None
    if not isinstance(manifest, dict) or not all(isinstance(manifest.get(part), dict) for part in SECTIONS):
        raise BackupError(f"{MANIFEST} lacks one of: {', '.join(SECTIONS)}")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    listed = manifest.get("files") or {}
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {MANIFEST}
    if extra := sorted(present - set(listed)):
        raise BackupError(f"files not in the manifest: {', '.join(extra[:5])}")
    for name, expected in sorted(listed.items()):
        if name.startswith(f"{OBJECTS}/"):
            check_key(name.removeprefix(f"{OBJECTS}/"))
        elif name != manifest["database"].get("file") or name not in DUMPS.values():
            raise BackupError(f"unexpected file in the manifest: {name}")
        path = source / name
        if not path.is_file():
            raise BackupError(f"missing: {name}")
        if _digest_file(path) != expected:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: changed or damaged")
    return manifest


def restore(app: Flask, source: Path) -> dict:
    """Restore a verified backup into an empty database and an empty storage; return the manifest."""
    source = Path(source)
    manifest = verify(source)
    kind = _database_kind(app)
    if manifest["database"].get("kind") != kind:
        raise BackupError(f"the backup holds a {manifest['database'].get('kind')} database; this app uses {kind}")
    revision = manifest["migration"].get("database")
    if revision and revision not in known_revisions(app):
        raise BackupError(f"the backup's schema ({revision}) is newer than this version of the app knows")
    with app.app_context():
        if tables := inspect(db.engine).get_table_names():
            raise BackupError(f"the database is not empty ({len(tables)} tables); restore into a new, empty one")
        backend = storage()
        objects = {name.removeprefix(f"{OBJECTS}/"): name for name in manifest["files"] if name.startswith(f"{OBJECTS}/")}
        present = set(backend.keys())
        # Objects already there are accepted only as an earlier, interrupted run of this restore left them.
        if any(key not in objects or hashlib.sha256(backend.get(key)).hexdigest() != manifest["files"][objects[key]]["sha256"]
               for key in present):  # fmt: skip
            raise BackupError(f"the storage ({backend!r}) is not empty; restore into a new, empty one")
        # The objects first, the database last in one transaction: a restore cut short (the bucket
        # unreachable, a full disk) leaves an empty database, and running it again goes on from there.
        content_types = manifest["storage"].get("content_types", {})
        for key, name in sorted(objects.items()):
            if key in present:
                continue
            try:
                backend.put(key, (source / name).read_bytes(), content_types.get(key) or _guess_type(key))
            except Exception as error:  # noqa: BLE001  (any storage failure: say where, and how to go on)
                raise BackupError(f"storing {key} failed ({type(error).__name__}: {error}); the database is not "
                                  "restored yet: run the same restore again to continue") from None  # fmt: skip
        db.engine.dispose()  # the restore runs beside this process's connections, not through them
        dump = source / manifest["database"]["file"]  # checked by verify
        if kind == "postgresql":
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  str(dump)], app)  # fmt: skip
        else:
            shutil.copyfile(dump, make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    return manifest


# --- helpers --------------------------------------------------------------------------------------


def _database_kind(app: Flask) -> str:
    backend = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if backend not in DUMPS:
        raise BackupError(f"no backup for a {backend} database")
    return backend


def _run(command: list[str], app: Flask) -> None:
    """pg_dump or pg_restore on the app's database: connection details through libpq's variables,
    so the password never shows in the process list."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                            ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):  # fmt: skip
        if value is not None:
            env[variable] = str(value)
    for name, value in url.query.items():  # sslmode=require and the like
        env[f"PG{name.upper()}"] = value if isinstance(value, str) else value[-1]
    if command[0] == "pg_restore":
        command = [command[0], f"--dbname={url.database}", *command[1:]]
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL client tools)") from None
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()[-2000:]}") from None


def _digest_file(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _guess_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _database_revision() -> str | None:
    from sqlalchemy import text

    try:
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001  (no migrations table: an unmigrated database)
        return None
    finally:
        db.session.rollback()


def _scripts(app: Flask):
    from alembic.script import ScriptDirectory

    return ScriptDirectory(app.extensions["migrate"].directory)


def code_head(app: Flask) -> str | None:
    return _scripts(app).get_current_head()


def known_revisions(app: Flask) -> set[str]:
    return {script.revision for script in _scripts(app).walk_revisions()}


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("grants")
    except PackageNotFoundError:
        return "unknown"
