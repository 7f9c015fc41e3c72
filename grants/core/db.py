"""Column types and session helpers shared by every domain."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, String, event
from sqlalchemy.engine import Engine
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
    """Every callback runs, even when one before it raised: the change is committed whatever they
    do, so a failure (the broker down while a task is queued) is logged, never turned into an
    error answer. What they announce is in the database already (the message log), and the alert
    sweep sends what was never handed over."""
    import logging

    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001  (see the docstring: logged, and the next one still runs)
            name = getattr(callback, "__qualname__", repr(callback))
            logging.getLogger("grants.on_commit").warning("after-commit %s failed", name, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop("on_commit", None)


def on_rollback(callback: Callable[[], None]) -> None:
    """Run callback if the current transaction ends without committing (rolled back, or closed
    uncommitted): a stored file is deleted again, so no object outlives the rows that name it."""
    db.session.info.setdefault("on_rollback", []).append(callback)


@event.listens_for(Session, "after_commit")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop("on_rollback", None)


# Set when a COMMIT was sent to the database in this thread: if its answer is then lost (the
# connection drops), the transaction may have committed after all, and the rows may name the files.
_COMMIT_SENT: ContextVar[bool] = ContextVar("commit_sent", default=False)


@event.listens_for(Engine, "commit")
def _commit_sent(connection) -> None:
    _COMMIT_SENT.set(True)


@event.listens_for(Session, "after_begin")
def _commit_not_sent(session: Session, transaction, connection) -> None:
    _COMMIT_SENT.set(False)


@event.listens_for(Session, "after_transaction_end")
def _run_on_rollback(session: Session, transaction) -> None:
    import logging

    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    callbacks = session.info.pop("on_rollback", [])
    if callbacks and _COMMIT_SENT.get():
        # The COMMIT went out but its answer did not come back: better a file no row names (harmless)
        # than a row naming a deleted file.
        logging.getLogger("grants.on_rollback").warning("commit outcome unknown: %d stored file(s) kept",
                                                        len(callbacks))  # fmt: skip
        return
    for callback in callbacks:
        try:
            callback()
        except Exception:  # noqa: BLE001  (cleanup only: the rollback itself stands)
            logging.getLogger("grants.on_rollback").warning("after-rollback cleanup failed", exc_info=True)


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


# --- one transaction per request or task ---------------------------------------------------------
#
# Services only flush. Inside a request (or a Celery task) the unit of work commits once at its
# end, or rolls everything back when the answer is a refusal or an error. A service called on its
# own (the CLI, the demo seeder, a test's set-up) owns its transaction instead: `transactional`
# commits when the outermost service returns and rolls back when it raises. A service that calls
# another therefore stays atomic either way.

_UNIT_KEY = "unit_of_work"
_DEPTH_KEY = "service_depth"


def begin_unit() -> None:
    """Mark the current app context as a unit of work (a request or a task) that commits once."""
    from flask import g

    g.setdefault(_UNIT_KEY, True)


def in_unit() -> bool:
    from flask import g, has_app_context

    return has_app_context() and bool(g.get(_UNIT_KEY))


def keep_on_refusal() -> None:
    """Commit this unit even though it answers a refusal: for a finding that must be kept while
    the request itself is refused (a conflict of interest found when a reviewer saves)."""
    from flask import g

    g.keep_on_refusal = True


def kept_on_refusal() -> bool:
    from flask import g, has_app_context

    return has_app_context() and bool(g.get("keep_on_refusal"))


def end_unit(*, success: bool) -> None:
    """Commit (success) or roll back the unit's one transaction."""
    if success:
        db.session.commit()
    else:
        db.session.rollback()


def transactional(fn: Callable) -> Callable:
    """A service: flushes inside a unit of work; commits or rolls back when called on its own."""
    from functools import wraps

    @wraps(fn)
    def wrapper(*args, **kwargs):
        if in_unit():
            result = fn(*args, **kwargs)
            db.session.flush()
            return result
        info = db.session.info
        depth = info.get(_DEPTH_KEY, 0)
        info[_DEPTH_KEY] = depth + 1
        try:
            result = fn(*args, **kwargs)
            if depth == 0:
                db.session.commit()
            else:
                db.session.flush()
            return result
        except BaseException:
            if depth == 0:
                db.session.rollback()
            raise
        finally:
            db.session.info[_DEPTH_KEY] = depth

    return wrapper


def lock(obj):
    """Take the row lock on `obj` (SELECT … FOR UPDATE) and reload it, so a check made after this
    sees what concurrent transactions committed. SQLite serialises writers itself."""
    # "OF <table>": PostgreSQL refuses a bare FOR UPDATE on the outer join of an eager relationship.
    db.session.refresh(obj, with_for_update={"of": type(obj)})
    return obj


def locked_get(model, ident):
    """The row with its lock taken, or None (for load-then-check-then-write)."""
    return db.session.get(model, ident, with_for_update={"of": model}, populate_existing=True)
