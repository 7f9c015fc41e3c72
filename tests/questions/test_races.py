"""Two managers answer the same question at once: the row lock orders them, one answer is
published and sent once, the other manager gets 409."""

from __future__ import annotations

import pytest
from conftest import read_outbox, text_of
from parallel import api_token, fire

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_two_managers_answer_the_same_question_at_once(app, users, make_call, live_server):
    from grants.extensions import db
    from grants.questions import services
    from grants.subscriptions.models import Subscription

    call = make_call(publish=True)
    db.session.add(Subscription(email="sub@example.kz", language="ru", confirmed_at=call.opens_at))
    asker = users("asker@example.kz")
    question = services.ask(asker, call, "Сколько партнёров может быть в консорциуме?")
    first, second = users("m1@example.kz", role="manager"), users("m2@example.kz", role="manager")
    db.session.commit()
    tokens = [api_token(app, first), api_token(app, second)]
    base = live_server(app)
    path = f"/api/v1/questions/{question.id}/answer"
    results = fire(base, [("POST", path, token, {"text": {"ru": f"Ответ менеджера {n}."}})
                          for n, token in enumerate(tokens)])  # fmt: skip
    assert sorted(r.status for r in results) == [200, 409], [r.body for r in results]
    winner = next(r for r in results if r.status == 200).body["answers"]["ru"]
    answers = [m for m in read_outbox(app) if "Ответ менеджера" in text_of(m)]
    assert sorted(m["To"] for m in answers) == ["asker@example.kz", "sub@example.kz"]
    assert all(winner in text_of(m) for m in answers)
