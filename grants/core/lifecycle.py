"""The one shape every state machine has (DESIGN.md "State machines").

Each stateful entity declares, in its domain's `lifecycle.py`, a `StrEnum` of statuses with named
sets, a table `{(from_status, event): to_status}` and an optional function of derived steps, and
builds one `Machine`. `Machine.transition(obj, event, actor, **data)` is then the only code that
assigns `obj.status`: it takes the row lock, checks the edge against the table, writes the status,
records the audit event, and applies the derived steps (which may transition other objects).
A test walks the AST of `grants/` and fails on any `.status =` outside the lifecycle modules."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext as _

from ..audit.services import record
from .db import lock
from .errors import Conflict


@dataclass
class Machine:
    """A table-driven state machine for one model."""

    name: str  # audit prefix and object type, e.g. "award"
    statuses: type[enum.StrEnum]
    edges: Mapping[tuple[str, str], str]  # (from status, event) -> to status
    labels: Mapping[str, object]  # status -> lazy translated label
    after: Callable | None = None  # after(obj, event, actor, before, data): derived steps
    lock_rows: bool = True
    audit: bool = True
    describe: Callable | None = None  # extra audit fields for the event: describe(obj) -> dict
    _events: frozenset = field(init=False)

    def __post_init__(self):
        for (source, _event), target in self.edges.items():
            self.statuses(source), self.statuses(target)  # a typo in the table fails at import
        self._events = frozenset(event for _source, event in self.edges)

    def label(self, status) -> str:
        return str(self.labels.get(status, status))

    def target(self, status, event: str):
        """The status `event` leads to from `status`, or None when the edge does not exist."""
        return self.edges.get((str(status), event))

    def can(self, obj, event: str) -> bool:
        return self.target(obj.status, event) is not None

    def transition(self, obj, event: str, actor, *, locked: bool = False, **data):
        """Move `obj` along `event`: lock, check, write, audit, derived steps. The caller's unit
        of work commits. Refused edges raise Conflict(code="invalid_transition")."""
        if event not in self._events:
            raise ValueError(f"{self.name}: unknown event {event!r}")
        if self.lock_rows and not locked and obj.id is not None:
            lock(obj)
        before = obj.status
        to = self.target(before, event)
        if to is None:
            raise Conflict(
                _(
                    "This cannot be done now: it is %(status)s.",
                    status=self.label(before),
                ),
                code="invalid_transition",
            )
        obj.status = to
        if self.audit:
            details = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | type(None))}
            extra = self.describe(obj) if self.describe else {}
            record(
                actor,
                f"{self.name}.{event}",
                self.name,
                obj.id,
                before={"status": str(before)},
                after={"status": str(to)} | extra | details,
            )
        if self.after:
            self.after(obj, event, actor, before, data)
        return to
