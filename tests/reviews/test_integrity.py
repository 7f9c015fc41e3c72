"""Issue 11 (Integrity), review stage: decisions are guarded, versioned and consistent under
concurrency; appeals are one per decision; conflicts are re-checked whenever a reviewer acts.
The concurrency tests send real parallel requests to a threaded server on PostgreSQL."""

import pytest
from conftest import PASSWORD, api_login, login, post_form, read_outbox
from parallel import api_token, fire

from grants.applications.models import Application
from grants.audit.models import AuditEvent
from grants.extensions import db
from grants.organizations.models import Membership
from grants.reviews import services
from grants.reviews.models import Appeal, Assignment, Decision, DecisionVersion
from reviews.conftest import score_all

GOOD = {"relevance": 8, "feasibility": 8, "impact": 4}  # T = 24 + 32 + 24 = 80, above the threshold
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def in_review(stage):
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")
    services.auto_assign(stage.manager, stage.call)


def ready(stage, values=GOOD):
    in_review(stage)
    score_all(stage, lambda a: values)


def headers(client, email):
    token = api_login(client, email, PASSWORD).json["token"]
    return {"Authorization": f"Bearer {token}"}


def status_of(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident).status


# --- apply the computed selection: guarded and confirmed ---------------------------------------------


def test_apply_selection_is_refused_while_eligible_applications_lack_reviews(stage, app, client):
    """Why: "1 of 9 reviews done" rejected two applications that had no review at all, emailed
    their leads and showed the call as decided. Now: 409 reviews_missing naming them, nothing
    decided, nobody emailed, until each is confirmed with a reason."""
    in_review(stage)
    first = db.session.execute(db.select(Assignment).order_by(Assignment.id)).scalars().first()
    services.declare(first.reviewer, first, conflict=False)
    services.save_review(first.reviewer, first, scores=GOOD, comments={}, overall_comment="", submit=True)
    mails_before = len(read_outbox(app))
    manager = headers(client, "manager@example.kz")
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    refused = client.post(url, json={"apply_selection": True}, headers=manager)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "reviews_missing"
    assert sorted(refused.json["error"]["application_ids"]) == sorted(a.id for a in stage.apps)
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 0
    assert len(read_outbox(app)) == mails_before
    assert client.get(f"/calls/{stage.call.id}/results").get_data(as_text=True).count("SG-2027-1-000") == 0
    partly = client.post(url, json={"apply_selection": True, "confirm_missing": [
        {"application_id": stage.apps[0].id, "reason": "Два эксперта отказались, третья оценка убедительна"}]},
        headers=manager)  # fmt: skip
    assert partly.status_code == 409 and sorted(partly.json["error"]["application_ids"]) == sorted(
        a.id for a in stage.apps[1:]
    )
    confirmed = client.post(url, json={"apply_selection": True, "confirm_missing": [
        {"application_id": a.id, "reason": "Решение комиссии от 2 апреля"} for a in stage.apps]}, headers=manager)  # fmt: skip
    assert confirmed.status_code == 200 and len(confirmed.json["items"]) == 3
    reasons = db.session.execute(db.select(Decision.reviews_missing_reason)).scalars().all()
    assert all(reasons)


def test_the_apply_page_shows_the_missing_reviews_and_asks_a_reason_and_a_confirmation(stage, client):
    in_review(stage)
    login(client, "manager@example.kz")
    page = f"/manage/calls/{stage.call.id}/ranking"
    first_step = post_form(client, page, {"action": "apply"})  # no JavaScript needed: a confirmation page
    text = first_step.get_data(as_text=True)
    assert first_step.status_code == 200 and 'name="confirm"' in text
    assert all(f'name="missing-{a.id}"' in text for a in stage.apps)
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 0
    without_reasons = post_form(client, page, {"action": "apply", "confirm": "yes"})
    assert without_reasons.status_code == 409
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 0
    reasons = {f"missing-{a.id}": "Эксперты не ответили вовремя, решение комиссии" for a in stage.apps}
    done = post_form(client, page, {"action": "apply", "confirm": "yes", **reasons})
    assert done.status_code == 302
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 3


def test_deciding_or_answering_an_appeal_needs_the_confirmation(stage, client):
    ready(stage)
    login(client, "manager@example.kz")
    page = f"/manage/calls/{stage.call.id}/ranking"
    unconfirmed = post_form(client, page, {"application_id": str(stage.apps[0].id), "outcome": "award", "version": "0"})
    assert unconfirmed.status_code == 422
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 0
    confirmed = post_form(client, page, {"application_id": str(stage.apps[0].id), "outcome": "award", "version": "0",
                                         "confirm": "yes"})  # fmt: skip
    assert confirmed.status_code == 302
    services.appeal(stage.leads[0], stage.apps[0], "Просим пересмотреть оценку по критерию реалистичности.")
    item = db.session.execute(db.select(Appeal)).scalar_one()
    appeals = f"/manage/calls/{stage.call.id}/appeals"
    refused = post_form(client, appeals, {"appeal_id": str(item.id), "outcome": "dismissed", "answer": "Нет оснований"})
    assert refused.status_code == 422 and status_of(Appeal, item.id) == "filed"
    answered = post_form(client, appeals, {"appeal_id": str(item.id), "outcome": "dismissed", "answer": "Нет оснований",
                                           "confirm": "yes"})  # fmt: skip
    assert answered.status_code == 302 and status_of(Appeal, item.id) == "dismissed"


# --- decisions: versioned, stale writes refused, one consistent decision under concurrency ---------------


def test_a_decision_is_versioned_and_a_stale_write_is_refused_in_the_users_language(stage, client):
    ready(stage)
    manager = headers(client, "manager@example.kz")
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    target = stage.apps[0].id
    first = client.post(url, json={"decisions": [{"application_id": target, "outcome": "award"}]}, headers=manager)
    assert first.status_code == 200 and first.json["items"][0]["version"] == 1
    got = client.get(f"/api/v1/applications/{target}/decision", headers=manager).json
    assert (got["outcome"], got["version"], got["justification"]) == ("award", 1, "") and got["decided_at"]
    change = {"application_id": target, "outcome": "reserve", "justification": "Бюджет перераспределён", "version": 1}
    changed = client.post(url, json={"decisions": [change]}, headers=manager)
    assert changed.status_code == 200, changed.json
    stale = client.post(url, json={"decisions": [change | {"outcome": "reject"}]},
                        headers=manager | {"Accept-Language": "ru"})  # fmt: skip
    assert stale.status_code == 409 and stale.json["error"]["code"] == "stale"
    assert "верси" in stale.json["error"]["message"]  # Russian, the user's language
    db.session.expire_all()
    decision = db.session.execute(db.select(Decision).filter_by(application_id=target)).scalar_one()
    assert (decision.outcome, decision.version) == ("reserve", 2)
    history = db.session.execute(db.select(DecisionVersion.version, DecisionVersion.outcome)
                                 .order_by(DecisionVersion.version)).all()  # fmt: skip
    assert [tuple(h) for h in history] == [(1, "award"), (2, "reserve")]
    assert db.session.get(Application, target).status == "reserve"


def test_the_lead_reads_the_decision_after_it_is_taken_and_others_do_not(stage, client):
    ready(stage)
    lead, other = headers(client, "lead0@example.kz"), headers(client, "lead1@example.kz")
    url = f"/api/v1/applications/{stage.apps[0].id}/decision"
    assert client.get(url, headers=lead).status_code == 404  # nothing decided yet
    services.decide(stage.manager, stage.call, [{"application_id": stage.apps[0].id, "outcome": "award"}])
    assert client.get(url, headers=lead).json["outcome"] == "award"
    assert client.get(url, headers=other).status_code == 404
    assert client.get(url, headers=headers(client, "r1@example.kz")).status_code == 404


@POSTGRES_ONLY
def test_four_concurrent_decisions_leave_one_consistent_decision(stage, app, live_server):
    """Why: four concurrent decisions all answered 200; the stored decision had the outcome of
    one request and the justification of another, and the audit log disagreed."""
    ready(stage)
    base = live_server(app)
    token = api_token(app, stage.manager)
    target = stage.apps[1].id
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    bodies = [{"decisions": [{"application_id": target, "outcome": outcome, "justification": f"Обоснование {n}"}]}
              for n, outcome in enumerate(("award", "reserve", "reject", "award"))]  # fmt: skip
    results = fire(base, [("POST", url, token, body) for body in bodies])
    assert sorted(r.status for r in results) == [200, 409, 409, 409]
    assert {r.code for r in results if r.status == 409} == {"stale"}
    winner = bodies[next(i for i, r in enumerate(results) if r.status == 200)]["decisions"][0]
    db.session.expire_all()
    decision = db.session.execute(db.select(Decision).filter_by(application_id=target)).scalar_one()
    assert (decision.outcome, decision.justification, decision.version) == (
        winner["outcome"],
        winner["justification"],
        1,
    )
    [event] = db.session.execute(db.select(AuditEvent).filter_by(action="decision.made")).scalars().all()
    assert (event.after["outcome"], event.after["justification"]) == (winner["outcome"], winner["justification"])
    expected = {"award": "awarded", "reserve": "reserve", "reject": "rejected"}[winner["outcome"]]
    assert db.session.get(Application, target).status == expected


# --- caps: manual decisions within the call's limits, or publicly justified ------------------------------


def test_manual_awards_beyond_a_cap_need_a_public_justification(stage, client):
    """Why: manual decisions never checked max_awards or the budget (3 awards against a cap of 2)."""
    ready(stage)
    manager = headers(client, "manager@example.kz")
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    outcome, _apps = services.ranking(stage.call)
    top, second, third = (i.application_id for i in outcome.items)
    services.decide(stage.manager, stage.call, [{"application_id": third, "outcome": "award",
                                                 "justification": "Приоритет региона"}])  # fmt: skip
    stage.call.max_awards = 2
    db.session.commit()
    assert client.post(url, json={"decisions": [{"application_id": top, "outcome": "award"}]},
                       headers=manager).status_code == 200  # fmt: skip
    beyond = client.post(url, json={"decisions": [{"application_id": second, "outcome": "award"}]}, headers=manager)
    assert beyond.status_code == 409 and beyond.json["error"]["code"] == "cap_exceeded"
    assert "decisions.0.justification" in beyond.json["error"]["fields"]
    assert db.session.execute(db.select(db.func.count()).select_from(Decision)).scalar_one() == 2
    justified = client.post(url, json={"decisions": [{"application_id": second, "outcome": "award",
                                                      "justification": "Единственный проект в Улытауской области"}]},
                            headers=manager)  # fmt: skip
    assert justified.status_code == 200 and justified.json["items"][0]["exceeds"] == ["max_awards"]
    client.get("/language/en")
    public = client.get(f"/calls/{stage.call.id}/results").get_data(as_text=True)
    assert "exceeds the maximum number of grants because: Единственный проект в Улытауской области" in public


@POSTGRES_ONLY
def test_two_managers_awarding_at_once_do_not_exceed_the_cap(stage, app, live_server, users):
    """Why: two managers deciding by hand at once gave 3 awards against a cap of 2."""
    ready(stage)
    outcome, _apps = services.ranking(stage.call)
    top, second, third = (i.application_id for i in outcome.items)
    services.decide(stage.manager, stage.call, [{"application_id": third, "outcome": "award",
                                                 "justification": "Приоритет региона"}])  # fmt: skip
    stage.call.max_awards = 2
    db.session.commit()
    other = users("manager2@example.kz", role="manager")
    base = live_server(app)
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    results = fire(base, [("POST", url, api_token(app, stage.manager), {"decisions": [{"application_id": top, "outcome": "award"}]}),
                          ("POST", url, api_token(app, other), {"decisions": [{"application_id": second, "outcome": "award"}]})])  # fmt: skip
    assert sorted(r.status for r in results) == [200, 409]
    assert [r.code for r in results if r.status == 409] == ["cap_exceeded"]
    db.session.expire_all()
    awards = db.session.execute(
        db.select(db.func.count()).select_from(Decision).filter_by(outcome="award")
    ).scalar_one()
    assert awards == 2


# --- appeals ----------------------------------------------------------------------------------------------


def test_an_upheld_appeal_reopens_the_decision_for_a_new_version(stage, client):
    """Why: "upheld" changed nothing."""
    ready(stage)
    services.decide(stage.manager, stage.call, apply_selection=True)
    target = stage.apps[2]
    lead, manager = headers(client, "lead2@example.kz"), headers(client, "manager@example.kz")
    filed = client.post(f"/api/v1/applications/{target.id}/appeals",
                        json={"reason": "Эксперт не учёл наш опыт работы в регионе с 2019 года."}, headers=lead)  # fmt: skip
    assert filed.status_code == 201
    answer = client.post(f"/api/v1/appeals/{filed.json['id']}/answer",
                         json={"outcome": "upheld", "answer": "Оценка будет пересмотрена."}, headers=manager)  # fmt: skip
    assert answer.status_code == 200 and answer.json["status"] == "upheld"
    assert status_of(Application, target.id) == "reviewed"
    got = client.get(f"/api/v1/applications/{target.id}/decision", headers=manager).json
    assert (got["status"], got["outcome"], got["version"]) == ("reopened", None, 1)
    login(client, "lead2@example.kz")
    assert client.get(f"/applications/{target.id}/result").status_code == 200
    url = f"/api/v1/calls/{stage.call.id}/decisions"
    again = client.post(url, json={"decisions": [{"application_id": target.id, "outcome": "reserve", "version": 1,
                                                  "justification": "После апелляции"}]}, headers=manager)  # fmt: skip
    assert again.status_code == 200 and again.json["items"][0]["version"] == 2
    assert status_of(Application, target.id) == "reserve"
    second = client.post(f"/api/v1/applications/{target.id}/appeals",
                         json={"reason": "Повторно просим учесть письма поддержки акимата."}, headers=lead)  # fmt: skip
    assert second.status_code == 201 and second.json["decision_version"] == 2  # one appeal per decision version
    # the public results say what the upheld appeal changed (issue 13: appeals that act)
    from grants.reviews.appeals import upheld_outcomes

    outcomes = upheld_outcomes(stage.call)
    assert outcomes["open"] == 0 and outcomes["changed"] + outcomes["same"] == 1
    client.get("/language/ru")
    public = client.get(f"/calls/{stage.call.id}/results").get_data(as_text=True)
    assert f"По удовлетворённым апелляциям: решение изменилось — {outcomes['changed']}" in public


@POSTGRES_ONLY
def test_two_concurrent_appeals_store_one_and_the_result_page_still_answers(stage, app, live_server):
    """Why: two concurrent appeals were both stored and the result page answered 500 for good."""
    ready(stage)
    services.decide(stage.manager, stage.call, apply_selection=True)
    base = live_server(app)
    token = api_token(app, stage.leads[1])
    url = f"/api/v1/applications/{stage.apps[1].id}/appeals"
    body = {"reason": "Эксперт не учёл наш опыт работы в регионе с 2019 года."}
    results = fire(base, [("POST", url, token, body)] * 2)
    assert sorted(r.status for r in results) == [201, 409]
    assert db.session.execute(db.select(db.func.count()).select_from(Appeal)).scalar_one() == 1
    client = app.test_client()
    login(client, "lead1@example.kz")
    assert client.get(f"/applications/{stage.apps[1].id}/result").status_code == 200


# --- conflicts re-checked whenever the reviewer acts ------------------------------------------------------


def _join_lead(assignment):
    """The reviewer becomes a member of the lead organization after the assignment."""
    db.session.add(Membership(user_id=assignment.reviewer_id,
                              organization_id=assignment.application.consortium.lead_organization_id, role="editor"))  # fmt: skip
    db.session.commit()


def _assignments_of(stage, app_index):
    return db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[app_index].id)
                              .order_by(Assignment.seat)).scalars().all()  # fmt: skip


def test_a_membership_after_assignment_closes_the_content_and_asks_the_manager_to_reassign(stage, client):
    """Why: a reviewer who joined the lead organization after assignment still scored it."""
    in_review(stage)
    first, second, third = _assignments_of(stage, 1)
    services.declare(first.reviewer, first, conflict=False)
    _join_lead(first)
    login(client, first.reviewer.email)
    opened = client.get(f"/reviews/{first.id}")
    assert opened.status_code == 302 and "Таза Арал" not in opened.get_data(as_text=True)
    assert status_of(Assignment, first.id) == "conflicted"
    assert client.get(f"/reviews/{first.id}/application.pdf").status_code == 404
    # the API: saving answers 409 and keeps the mark; "no conflict" records the conflict
    services.declare(second.reviewer, second, conflict=False)
    _join_lead(second)
    token = headers(client, second.reviewer.email)
    saved = client.put(f"/api/v1/assignments/{second.id}/review", json={"scores": GOOD, "submit": True}, headers=token)
    assert saved.status_code == 409 and saved.json["error"]["code"] == "conflict_of_interest"
    assert status_of(Assignment, second.id) == "conflicted"
    assert db.session.get(Assignment, second.id).review is None
    _join_lead(third)
    declared = client.post(f"/api/v1/assignments/{third.id}/declaration", json={"conflict": False},
                           headers=headers(client, third.reviewer.email))  # fmt: skip
    assert declared.status_code == 200 and declared.json["status"] == "conflicted" and declared.json["conflict_found"]
    manager = client.application.test_client()
    login(manager, "manager@example.kz")
    manager.get("/language/en")
    page = manager.get(f"/manage/calls/{stage.call.id}/review").get_data(as_text=True)
    assert page.count("needs another reviewer") == 3


@POSTGRES_ONLY
def test_conflict_and_no_conflict_sent_together_record_one_outcome(stage, app, live_server):
    """Why: "conflict" and "no conflict" sent together were both recorded."""
    in_review(stage)
    assignment = _assignments_of(stage, 2)[0]
    base = live_server(app)
    token = api_token(app, assignment.reviewer)
    url = f"/api/v1/assignments/{assignment.id}/declaration"
    results = fire(base, [("POST", url, token, {"conflict": True, "reason": "Родственник"}),
                          ("POST", url, token, {"conflict": False})])  # fmt: skip
    assert sorted(r.status for r in results) == [200, 409]
    winner = results[0] if results[0].status == 200 else results[1]
    assert status_of(Assignment, assignment.id) == winner.body["status"]
    events = db.session.execute(db.select(AuditEvent.action).where(AuditEvent.object_type == "assignment",
                                                                   AuditEvent.object_id == assignment.id)).scalars().all()  # fmt: skip
    assert len(events) == 1


def test_one_definition_of_an_overdue_review():
    """Pages, the API and alerts ask rules.is_overdue / lifecycle.OPEN (there were three definitions)."""
    from datetime import UTC, datetime, timedelta

    from grants.reviews import lifecycle, rules

    now = datetime(2027, 4, 1, tzinfo=UTC)
    late, early = now - timedelta(hours=1), now + timedelta(hours=1)
    owed = {s: rules.is_overdue(Assignment(status=s, due_at=late), now) for s in lifecycle.AssignmentStatus}
    assert owed == {"pending": True, "declared": True, "conflicted": False, "submitted": False}
    assert not rules.is_overdue(Assignment(status="pending", due_at=early), now)
    assert lifecycle.OPEN == {s for s, overdue in owed.items() if overdue}
