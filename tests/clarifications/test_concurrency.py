"""Answering while the manager closes the request, at once on PostgreSQL. The check (is the request
still open?) and the write (the answer) happen under the request's row lock, so an answer is either
stored before the close or refused with 409; never stored after it."""

from datetime import timedelta

import pytest
from parallel import api_token, fire

from grants.audit.models import AuditEvent
from grants.clarifications import services
from grants.clarifications.models import Clarification, ClarificationReply
from grants.core import clock
from grants.extensions import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
BOUNDARY = "clarify-boundary"


def _multipart(text: str) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{text}\r\n--{BOUNDARY}--\r\n"
            ).encode()  # fmt: skip


def test_answers_racing_the_close_are_stored_before_it_or_refused(scene, app, live_server):
    base = live_server(app)
    lead, manager = api_token(app, scene.lead), api_token(app, scene.manager)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    for round_ in range(3):
        item = services.ask(scene.manager, scene.app, question=f"Вопрос {round_}",
                            reply_by=clock.now() + timedelta(days=3))  # fmt: skip
        db.session.commit()
        requests = [
            ("POST", f"/api/v1/clarifications/{item.id}/reply", lead, _multipart(f"Ответ {n}")) for n in range(4)
        ]
        requests.insert(2, ("POST", f"/api/v1/clarifications/{item.id}/close", manager, _multipart("")))
        results = fire(base, requests, headers=headers)
        close = results.pop(2)
        assert close.status == 200, close.body
        assert all(r.status in (201, 409) for r in results), [(r.status, r.body) for r in results]
        assert all(r.code == "clarification_closed" for r in results if r.status == 409)
        db.session.expire_all()
        assert db.session.get(Clarification, item.id).status == "closed"
        stored = db.session.execute(db.select(ClarificationReply).filter_by(clarification_id=item.id)).scalars().all()
        assert len(stored) == sum(r.status == 201 for r in results)
        assert {r.sha256 for r in stored} == {r.body["sha256"] for r in results if r.status == 201}
        events = db.session.execute(db.select(AuditEvent.action).where(
            AuditEvent.object_type == "clarification", AuditEvent.object_id == item.id).order_by(AuditEvent.id)
        ).scalars().all()  # fmt: skip
        assert events[-1] == "clarification.closed"  # every stored answer came before the close
        assert events.count("clarification.answered") == len(stored)
