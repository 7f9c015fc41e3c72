import pytest
from conftest import PASSWORD, api_login, login, post_form, read_outbox

from grants.applications.models import AccessLogEntry, Application
from grants.core.errors import Conflict, ValidationFailed
from grants.extensions import db
from grants.reviews import services
from grants.reviews.models import Assignment, Decision
from reviews.conftest import score_all


def eligible_all(stage):
    for application in stage.apps:
        services.set_eligibility(stage.manager, application, eligible=True, reason="")


def test_eligibility_needs_a_reason_to_refuse_and_waits_for_the_deadline(stage, frozen):
    with pytest.raises(ValidationFailed):
        services.set_eligibility(stage.manager, stage.apps[0], eligible=False, reason="")
    db.session.rollback()
    services.set_eligibility(stage.manager, stage.apps[0], eligible=False, reason="Регион не подходит")
    assert stage.apps[0].status == "ineligible"
    services.set_eligibility(stage.manager, stage.apps[0], eligible=True, reason="Проверено повторно")
    assert stage.apps[0].status == "eligible"
    assert all(ok for _name, ok, _detail in services.checks(stage.apps[1]))


def test_assignment_is_conflict_free_balanced_and_deterministic(stage):
    eligible_all(stage)
    plan = services.auto_assign(stage.manager, stage.call)
    assert plan.unassigned == []
    rows = db.session.execute(db.select(Assignment.application_id, Assignment.reviewer_id, Assignment.seat)).all()
    assert len(rows) == 9
    affiliated = stage.reviewers[0].id
    assert (stage.apps[0].id, affiliated) not in {(a, r) for a, r, _s in rows}
    loads = {}
    for _a, r, _s in rows:
        loads[r] = loads.get(r, 0) + 1
    assert max(loads.values()) - min(loads.values()) <= 1
    assert sorted(s for a, _r, s in rows if a == stage.apps[1].id) == [1, 2, 3]
    assert db.session.get(Application, stage.apps[0].id).status == "in_review"


def test_too_few_reviewers_is_reported_not_silent(stage, users):
    from grants.accounts.models import Role

    for reviewer in stage.reviewers[1:]:
        reviewer.roles = {Role.APPLICANT}
    db.session.commit()
    eligible_all(stage)
    plan = services.auto_assign(stage.manager, stage.call)
    assert {u["application_id"]: u["missing"] for u in plan.unassigned} == {stage.apps[0].id: 3, stage.apps[1].id: 2,
                                                                             stage.apps[2].id: 2}  # fmt: skip


def test_conflict_declaration_returns_the_application_and_content_stays_closed(stage, app, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                    .order_by(Assignment.id)).scalars().first()  # fmt: skip
    reviewer = assignment.reviewer
    login(client, reviewer.email)
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "Таза Арал" not in page  # the content is closed before the declaration
    with pytest.raises(Conflict):
        services.save_review(reviewer, assignment, scores={}, comments={}, overall_comment="", submit=False)
    db.session.rollback()
    services.declare(reviewer, assignment, conflict=True, reason="Менің туысым")
    assert client.get(f"/reviews/{assignment.id}").status_code == 404
    replacement = db.session.execute(db.select(Assignment).filter_by(application_id=assignment.application_id,
                                                                     seat=assignment.seat, status="pending")).scalar_one()  # fmt: skip
    assert replacement.reviewer_id != reviewer.id


def test_scores_outside_the_range_or_unknown_are_refused_and_submitted_reviews_lock(stage):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).order_by(Assignment.id)).scalars().first()
    services.declare(assignment.reviewer, assignment, conflict=False)
    for scores in ({"relevance": 11}, {"beauty": 3}, {"relevance": "много"}):
        with pytest.raises(ValidationFailed):
            services.save_review(
                assignment.reviewer, assignment, scores=scores, comments={}, overall_comment="", submit=False
            )
        db.session.rollback()
    with pytest.raises(ValidationFailed) as incomplete:
        services.save_review(assignment.reviewer, assignment, scores={"relevance": 5}, comments={}, overall_comment="",
                             submit=True)  # fmt: skip
    assert "scores.impact" in incomplete.value.fields
    db.session.rollback()
    services.save_review(assignment.reviewer, assignment, scores={"relevance": 5, "feasibility": 5, "impact": 2.5},
                         comments={}, overall_comment="", submit=True)  # fmt: skip
    with pytest.raises(Conflict):
        services.save_review(assignment.reviewer, assignment, scores={"relevance": 9, "feasibility": 9, "impact": 5},
                             comments={}, overall_comment="", submit=True)  # fmt: skip
    db.session.rollback()
    services.reopen(stage.manager, assignment, "Арифметикалық қате")
    services.save_review(assignment.reviewer, assignment, scores={"relevance": 9, "feasibility": 9, "impact": 5},
                         comments={}, overall_comment="", submit=True)  # fmt: skip


def test_reviewer_opening_is_logged_as_a_seat_and_shown_to_the_applicant(stage, app, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                    .order_by(Assignment.seat)).scalars().first()  # fmt: skip
    services.declare(assignment.reviewer, assignment, conflict=False)
    login(client, assignment.reviewer.email)
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "Таза Арал" in page and "Lead 1" not in page  # blind review hides names
    entry = db.session.execute(db.select(AccessLogEntry)).scalar_one()
    assert (entry.viewer_role, entry.reviewer_seat) == ("reviewer", assignment.seat)
    lead = app.test_client()
    login(lead, "lead1@example.kz")
    page = lead.get(f"/applications/{stage.apps[1].id}/access-log").get_data(as_text=True)
    log = page[page.find("<main") : page.find("</main>")]  # the content, not the random CSRF token in the menu
    assert assignment.reviewer.email not in log and f">{assignment.reviewer.name}<" not in log
    assert f"{assignment.seat}-сарапшы" in log  # the lead reads Kazakh: "N-сарапшы"


def test_ranking_decisions_and_the_applicants_breakdown(stage, app, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    values = {stage.apps[0].id: {"relevance": 9, "feasibility": 9, "impact": 4},
              stage.apps[1].id: {"relevance": 6, "feasibility": 6, "impact": 3},
              stage.apps[2].id: {"relevance": 4, "feasibility": 4, "impact": 2}}  # fmt: skip
    score_all(stage, lambda a: values[a.application_id])
    outcome, _apps = services.ranking(stage.call)
    # T = 30·r/10 + 40·f/10 + 30·i/5 (the call's criteria): app0 = 27+36+24 = 87, plus 10 (women-led lead)
    # and 5 (rural lead) = 102; app1 = 18+24+18 = 60, plus 5 (rural) = 65; app2 = 12+16+12 = 40, below 60: no points
    assert [(i.application_id, str(i.merit), str(i.final)) for i in outcome.items] == [
        (stage.apps[0].id, "87", "102"), (stage.apps[1].id, "60", "65"), (stage.apps[2].id, "40", "40")]  # fmt: skip
    with pytest.raises(ValidationFailed) as unjustified:
        services.decide(stage.manager, stage.call, [{"application_id": stage.apps[2].id, "outcome": "award"}])
    assert "decisions.0.justification" in unjustified.value.fields
    db.session.rollback()
    services.decide(stage.manager, stage.call, apply_selection=True)
    services.decide(stage.manager, stage.call, [{"application_id": stage.apps[2].id, "outcome": "award", "version": 1,
                                                 "justification": "Единственный проект в Улытау"}])  # fmt: skip
    outcomes = dict(db.session.execute(db.select(Decision.application_id, Decision.outcome)).all())
    assert outcomes == {stage.apps[0].id: "award", stage.apps[1].id: "award", stage.apps[2].id: "award"}
    assert any("SG-2027-1" in (m["Subject"] or "") or m["To"] == "lead0@example.kz" for m in read_outbox(app))
    login(client, "lead0@example.kz")  # reads Kazakh
    page = client.get(f"/applications/{stage.apps[0].id}/result").get_data(as_text=True)
    assert "102" in page and "87" in page and "102.00" not in page and "Жақсы" in page  # numbers through the locale
    assert "r1@example.kz" not in page and "r2@example.kz" not in page  # reviewers are anonymous
    public = client.get(f"/calls/{stage.call.id}/results").get_data(as_text=True)
    assert "Единственный проект в Улытау" in public
    other = app.test_client()
    login(other, "lead1@example.kz")
    assert other.get(f"/applications/{stage.apps[0].id}/result").status_code == 404


def test_review_api_flow(stage, client):
    def token(email):
        return {"Authorization": "Bearer " + api_login(client, email, PASSWORD).json["token"]}  # fmt: skip

    manager = token("manager@example.kz")
    for application in stage.apps:
        r = client.post(f"/api/v1/calls/{stage.call.id}/eligibility", json={"application_id": application.id,
                                                                            "eligible": True}, headers=manager)  # fmt: skip
        assert r.status_code == 200 and r.json["status"] == "eligible"
    auto = client.post(f"/api/v1/calls/{stage.call.id}/assignments/auto", headers=manager)
    assert auto.status_code == 200 and auto.json["assigned"] == 9 and auto.json["unassigned"] == []
    reviewer = token("r1@example.kz")
    mine = client.get("/api/v1/assignments", headers=reviewer).json["items"]
    assert mine and all(a["status"] == "pending" for a in mine)
    first = mine[0]["id"]
    blocked = client.put(f"/api/v1/assignments/{first}/review", json={"scores": {"relevance": 5}}, headers=reviewer)
    assert blocked.status_code == 409
    assert (
        client.post(f"/api/v1/assignments/{first}/declaration", json={"conflict": False}, headers=reviewer).status_code
        == 200
    )
    bad = client.put(f"/api/v1/assignments/{first}/review", json={"scores": {"relevance": 50}}, headers=reviewer)
    assert bad.status_code == 422
    ok = client.put(f"/api/v1/assignments/{first}/review", json={"scores": {"relevance": 5, "feasibility": 5, "impact": 3},
                                                                  "submit": True}, headers=reviewer)  # fmt: skip
    assert ok.status_code == 200 and ok.json["status"] == "submitted"
    other = token("r2@example.kz")
    assert client.put(f"/api/v1/assignments/{first}/review", json={}, headers=other).status_code == 404
    ranking = client.get(f"/api/v1/calls/{stage.call.id}/ranking", headers=manager).json
    assert len(ranking["items"]) == 3 and "incomplete" in ranking["items"][0]["flags"]
    assert client.get(f"/api/v1/calls/{stage.call.id}/ranking", headers=reviewer).status_code == 404
    refused = client.post(f"/api/v1/calls/{stage.call.id}/decisions", json={"apply_selection": True}, headers=manager)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "reviews_missing"
    confirm = [{"application_id": i, "reason": "Решение комиссии"} for i in refused.json["error"]["application_ids"]]
    decided = client.post(f"/api/v1/calls/{stage.call.id}/decisions", json={"apply_selection": True,
                                                                            "confirm_missing": confirm}, headers=manager)  # fmt: skip
    assert decided.status_code == 200 and len(decided.json["items"]) == 3
    results = client.get(f"/api/v1/public/calls/{stage.call.id}/results").json
    assert results["call"]["code"] == "SG-2027-1"


def test_manager_screens_render_and_export(stage, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    login(client, "manager@example.kz")
    assert client.get(f"/manage/calls/{stage.call.id}/review").status_code == 200
    assert client.get(f"/manage/calls/{stage.call.id}/ranking").status_code == 200
    csv_text = client.get(f"/manage/calls/{stage.call.id}/ranking.csv").get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").startswith("rank,receipt") and "SG-2027-1-0001" in csv_text
    xlsx = client.get(f"/manage/calls/{stage.call.id}/ranking.xlsx")
    assert xlsx.data[:2] == b"PK"
    response = post_form(client, f"/manage/calls/{stage.call.id}/ranking",
                         {"application_id": str(stage.apps[0].id), "outcome": "award", "justification": ""})  # fmt: skip
    assert response.status_code == 422


def test_appeal_within_the_window_once_and_public_counts(stage, app, client, frozen):
    from datetime import timedelta

    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 5, "feasibility": 5, "impact": 3})
    services.decide(stage.manager, stage.call, apply_selection=True)
    with pytest.raises(ValidationFailed):
        services.appeal(stage.leads[1], stage.apps[1], "коротко")
    db.session.rollback()
    item = services.appeal(stage.leads[1], stage.apps[1], "Эксперт не учёл наш опыт работы в регионе с 2019 года.")
    with pytest.raises(Conflict):
        services.appeal(stage.leads[1], stage.apps[1], "Ещё одна апелляция по тому же решению, повторно.")
    db.session.rollback()
    services.answer_appeal(stage.manager, item, outcome="dismissed", answer="Оценка соответствует критериям.")
    frozen.to(frozen.moment + timedelta(days=11))
    with pytest.raises(Conflict) as late:
        services.appeal(stage.leads[2], stage.apps[2], "Слишком поздно, но всё равно хотим обжаловать решение.")
    assert late.value.code == "appeal_closed"
    db.session.rollback()
    client.get("/language/en")
    public = client.get(f"/calls/{stage.call.id}/results").get_data(as_text=True)
    assert "Appeals received: 1; upheld: 0; dismissed: 1; waiting: 0." in public


def test_reviewer_downloads_are_stamped_blind_and_logged(stage, app, client):
    import io

    from pypdf import PdfReader

    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[1].id)
                                    .order_by(Assignment.seat)).scalars().first()  # fmt: skip
    login(client, assignment.reviewer.email)
    assert client.get(f"/reviews/{assignment.id}/application.pdf").status_code == 404  # not before the declaration
    services.declare(assignment.reviewer, assignment, conflict=False)
    client.get("/language/en")
    response = client.get(f"/reviews/{assignment.id}/application.pdf")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert f"Reviewer {assignment.seat}" in text and "Lead 1" not in text
    actions = (
        db.session.execute(db.select(AccessLogEntry.action).filter_by(application_id=stage.apps[1].id)).scalars().all()
    )
    assert actions == ["pdf"]


def test_public_results_as_page_chart_csv_and_json(stage, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    score_all(stage, lambda a: {"relevance": 8, "feasibility": 8, "impact": 4})
    services.decide(stage.manager, stage.call, apply_selection=True)
    response = client.get(f"/calls/{stage.call.id}/results")
    page = response.get_data(as_text=True)
    main = page[page.find("<main") :]
    assert "<svg" in main and "Кызылординская область" in main, main[:3000]
    csv_text = client.get(f"/calls/{stage.call.id}/results.csv").get_data(as_text=True)
    assert "SG-2027-1-0001" in csv_text and "award" in csv_text
    data = client.get(f"/api/v1/public/calls/{stage.call.id}/results").json
    assert {row["receipt"] for row in data["items"]} >= {"SG-2027-1-0001"}


def test_manager_reassigns_and_reopens_from_the_stage_page(stage, client):
    eligible_all(stage)
    services.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).where(Assignment.application_id == stage.apps[2].id)
                                    .order_by(Assignment.id)).scalars().first()  # fmt: skip
    free = next(r for r in stage.reviewers if r.id not in {a.reviewer_id for a in db.session.execute(
        db.select(Assignment).filter_by(application_id=stage.apps[2].id)).scalars()})  # fmt: skip
    login(client, "manager@example.kz")
    page = f"/manage/calls/{stage.call.id}/review"
    post_form(client, page, {"action": "reassign", "assignment_id": str(assignment.id), "reviewer_id": str(free.id)})
    db.session.expire_all()
    assert db.session.execute(
        db.select(Assignment).filter_by(application_id=stage.apps[2].id, reviewer_id=free.id)
    ).scalar_one()
    assert db.session.get(Assignment, assignment.id).status == "conflicted"  # the old seat is closed
