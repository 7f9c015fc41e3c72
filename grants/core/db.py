"""Column types and session helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime, event
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from ..extensions import db


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Multilingual:
    """Models with <field>_kk / _ru / _en columns."""

    def text(self, field: str, locale: str) -> str:
        """The field in `locale`, else in Russian, Kazakh, English (whichever exists)."""
        for lang in (locale, "ru", "kk", "en"):
            value = getattr(self, f"{field}_{lang}", "")
            if value:
                return value
        return ""


def utcnow() -> datetime:
    return datetime.now(UTC)


def on_commit(callback: Callable[[], None]) -> None:
    """Run callback once the current transaction commits (emails, Celery tasks);
    dropped if it rolls back, so nothing announces a change that did not happen."""
    db.session.info.setdefault("on_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop("on_commit", None)
