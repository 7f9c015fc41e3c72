"""Issue 11 ("Integrity"), "Bad input changes data": every request body is checked by its
operation's one schema before a service sees it; a refused body changes nothing and never answers
500. Also: NUL bytes and lone surrogates are refused in pages, forms, query strings and JSON."""

import pytest
from applications.conftest import complete, ready, world  # noqa: F401  (fixtures)
from conftest import PASSWORD, api_login, post_form

from grants.applications.models import Application
from grants.extensions import db
from grants.organizations.models import Organization

BIG = 2**31


def token(client, email: str) -> dict:
    got = api_login(client, email, PASSWORD).json["token"]
    return {"Authorization": f"Bearer {got}", "Accept-Language": "en"}


def stored(app_id: int) -> dict:
    db.session.expire_all()
    app = db.session.get(Application, app_id)
    return {"version": app.version, "summary": app.summary, "budget": [(b.description, b.total) for b in app.budget_lines],
            "indicators": [i.name for i in app.indicators], "workplan": [w.activity for w in app.workplan]}  # fmt: skip


def test_a_budget_of_numbers_is_refused_and_the_budget_is_kept(ready, client):  # noqa: F811
    before = stored(ready.app.id)
    assert before["budget"]
    response = client.patch(f"/api/v1/applications/{ready.app.id}", json={"budget_lines": [1, 2]},
                            headers=token(client, "lead@example.kz"))  # fmt: skip
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"budget_lines.0", "budget_lines.1"}
    assert stored(ready.app.id) == before


@pytest.mark.parametrize("value", [{}, [], 5, True, ["text"]])
def test_a_summary_that_is_not_text_is_refused_not_stored_as_its_repr(ready, client, value):  # noqa: F811
    before = stored(ready.app.id)
    response = client.patch(f"/api/v1/applications/{ready.app.id}", json={"summary": value},
                            headers=token(client, "lead@example.kz"))  # fmt: skip
    assert response.status_code == 422 and response.json["error"]["fields"]["summary"] == ["Must be text."]
    assert stored(ready.app.id) == before


@pytest.mark.parametrize(
    ("rows", "field", "limit"),
    [
        ("budget_lines", "description", 500),
        ("indicators", "name", 300),
        ("indicators", "unit", 60),
        ("workplan", "activity", 500),
    ],
)
def test_too_long_row_text_is_refused_with_its_limit_never_cut(ready, client, rows, field, limit):  # noqa: F811
    before = stored(ready.app.id)
    body = {rows: [complete(ready)[rows][0] | {field: "ж" * (limit + 1)}]}
    response = client.patch(f"/api/v1/applications/{ready.app.id}", json=body, headers=token(client, "lead@example.kz"))
    assert response.status_code == 422
    assert response.json["error"]["fields"][f"{rows}.0.{field}"] == [f"Too long: at most {limit} characters."]
    assert stored(ready.app.id) == before


def test_the_web_form_refuses_too_long_rows_too(ready, client):  # noqa: F811
    from conftest import login

    login(client, "lead@example.kz")
    url = f"/applications/{ready.app.id}/edit/workplan"
    response = post_form(client, url, {"version": str(ready.app.version), "activities": "Іс-шаралар",
                                       "workplan-0-activity": "ж" * 501, "workplan-0-start_month": "1",
                                       "workplan-0-end_month": "2"})  # fmt: skip
    assert response.status_code == 422
    assert stored(ready.app.id)["workplan"] == ["Оқыту"]


@pytest.mark.parametrize(
    "patch",
    [{"name": 5}, {"name": ["Эко"]}, {"region": {"a": 1}}, {"bin": 200540007770}, {"staff_full_time": {"n": 1}},
     {"themes": "water"}, {"themes": [1, 2]}, {"description": False}, {"head_birth_year": 1.5}],
)  # fmt: skip
def test_organization_patch_with_values_of_the_wrong_type_is_422(client, users, organization, patch):
    owner = users("a@example.kz")
    org = organization(owner)
    before = (org.name, org.region, org.bin, org.staff_full_time, org.description)
    response = client.patch(f"/api/v1/organizations/{org.id}", json=patch, headers=token(client, "a@example.kz"))
    assert response.status_code == 422, response.json
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert (org.name, org.region, org.bin, org.staff_full_time, org.description) == before


def test_ids_out_of_range_inside_bodies_are_422_never_500(ready, client):  # noqa: F811
    lead = token(client, "lead@example.kz")
    cases = [
        ("POST", f"/api/v1/calls/{ready.call.id}/applications", {"consortium_id": BIG}, "consortium_id"),
        ("POST", f"/api/v1/calls/{ready.call.id}/applications", {"consortium_id": 2**70}, "consortium_id"),
        ("POST", "/api/v1/consortia", {"name": "X", "lead_organization_id": BIG}, "lead_organization_id"),
        ("POST", "/api/v1/consortia", {"name": "X", "lead_organization_id": ready.lead_org.id,
                                       "partner_organization_ids": [BIG]}, "partner_organization_ids.0"),
        ("POST", f"/api/v1/consortia/{ready.consortium.id}/confirm", {"organization_id": -BIG}, "organization_id"),
        ("PATCH", f"/api/v1/applications/{ready.app.id}",
         {"budget_lines": [complete(ready)["budget_lines"][0] | {"organization_id": BIG}]},
         "budget_lines.0.organization_id"),
    ]  # fmt: skip
    before = stored(ready.app.id)
    for method, path, body, field in cases:
        response = client.open(path, method=method, json=body, headers=lead)
        assert response.status_code == 422, (path, body, response.status_code)
        assert field in response.json["error"]["fields"], (field, response.json)
    assert client.get(f"/api/v1/consortia/{BIG}", headers=lead).status_code == 404
    assert stored(ready.app.id) == before


def test_a_stale_save_by_api_answers_409_with_the_current_version(ready, client):  # noqa: F811
    lead = token(client, "lead@example.kz")
    old = ready.app.version
    assert client.patch(f"/api/v1/applications/{ready.app.id}", json={"title": "A", "version": old},
                        headers=lead).status_code == 200  # fmt: skip
    stale = client.patch(f"/api/v1/applications/{ready.app.id}", json={"title": "B", "version": old}, headers=lead)
    assert stale.status_code == 409
    assert stale.json["error"]["code"] == "stale_version" and stale.json["error"]["current_version"] == old + 1
    assert stored(ready.app.id)["version"] == old + 1


def test_nul_bytes_are_refused_in_pages_forms_query_strings_and_json(app, client, users):
    users("a@example.kz")
    assert client.get("/directory?q=a%00b").status_code == 400
    assert client.get("/calls?q=%00").status_code == 400
    assert post_form(client, "/login", {"email": "a\x00@example.kz", "password": PASSWORD}).status_code == 400
    headers = token(client, "a@example.kz")
    raw = '{"name": "Эко\\u0000", "legal_form": "public_fund"}'
    response = client.post("/api/v1/organizations", data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_characters"
    assert client.get("/api/v1/applications?call_id=1%00", headers=headers).status_code == 400
    assert db.session.execute(db.select(db.func.count(Organization.id))).scalar() == 0


def test_lone_surrogates_are_refused_in_json_and_never_reach_a_page_or_form(app, client, users):
    from conftest import csrf_token

    users("a@example.kz")
    headers = token(client, "a@example.kz")
    raw = '{"name": "Эко\\ud800", "legal_form": "public_fund"}'
    response = client.post("/api/v1/organizations", data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_characters"
    # In a URL or a form a surrogate can only arrive as invalid UTF-8 bytes, which are read as U+FFFD:
    # the page answers normally and nothing broken is stored.
    assert client.get("/directory?q=a%ED%A0%80b").status_code == 200
    form = f"csrf_token={csrf_token(client, '/login')}&email=a%ED%A0%80%40example.kz&password=x".encode()
    login = client.post("/login", data=form, content_type="application/x-www-form-urlencoded")
    assert login.status_code < 500 and login.status_code != 302
    assert db.session.execute(db.select(db.func.count(Organization.id))).scalar() == 0


def test_numbers_out_of_range_in_query_strings_are_not_500(ready, client):  # noqa: F811
    lead = token(client, "lead@example.kz")
    listed = client.get(f"/api/v1/applications?call_id={BIG}&per_page=-5", headers=lead)
    assert listed.status_code == 200 and listed.json["items"] == [] and listed.json["per_page"] == 1
    assert len(client.get(f"/api/v1/applications?call_id={ready.call.id}", headers=lead).json["items"]) == 1
    assert client.get(f"/api/v1/applications?page={10**30}", headers=lead).json["items"] == []
    assert client.get(f"/api/v1/calls?page={10**30}").status_code == 200
    assert client.get(f"/api/v1/organizations?page={2**63}&per_page={2**63}", headers=lead).json["per_page"] == 200
