"""Stored files no row names any more: a worker killed between writing a letter and committing it,
an upload whose request died mid-way. A transaction that rolls back deletes its files itself
(core.db.on_rollback); these are the cases where no code was left running to do it.

Referenced keys are read from every `path` / `*_path` column of the schema, so a new kind of stored
file is covered as soon as its model has one. Only files older than the grace period are touched,
so a request writing a file right now, not yet committed, keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, union_all

from ..core import clock
from ..core.storage import storage
from ..extensions import db

GRACE = timedelta(hours=24)


def referenced_keys() -> set[str]:
    from .. import models  # noqa: F401  (every table registered)

    columns = [column for table in db.metadata.sorted_tables for column in table.columns
               if column.name == "path" or column.name.endswith("_path")]  # fmt: skip
    if not columns:
        return set()
    query = union_all(*(select(column.label("key")).where(column.is_not(None)) for column in columns))
    return set(db.session.execute(query).scalars())


@dataclass
class Orphans:
    found: list[str]
    deleted: list[str]


def collect(*, delete: bool, now: datetime | None = None, grace: timedelta = GRACE) -> Orphans:
    """The stored files no row names and older than `grace`; deleted when `delete`."""
    now = now or clock.now()
    backend = storage()
    named = referenced_keys()
    found, deleted = [], []
    for key in backend.keys():
        if key in named:
            continue
        try:
            if backend.modified(key) > now - grace:
                continue
        except FileNotFoundError:
            continue
        found.append(key)
        if delete:
            backend.delete(key)
            deleted.append(key)
    return Orphans(found, deleted)
