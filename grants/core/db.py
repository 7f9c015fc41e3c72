"""Column types and session helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column
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


class StoredFile:
    """Columns of an uploaded file checked and stored by core.uploads (content type from the
    bytes, SHA-256, who uploaded it)."""

    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(300))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
