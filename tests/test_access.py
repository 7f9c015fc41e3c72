"""The access matrix: route × role × owner/non-owner → status. Objects you may not see are 404."""

import io

import pytest
from conftest import PASSWORD, csrf_token, login

from grants.organizations import services as org_services
from grants.organizations.models import Membership

PDF = b"%PDF-1.4\n%%EOF\n"
ROLES = ["anonymous", "owner", "editor", "stranger", "reviewer", "manager", "admin"]

# (method, url, {role: status}); unlisted roles expect the row's default (last item).
PAGES = [
    ("GET", "/organizations", {"anonymous": 302}, 200),
    ("GET", "/organizations/{id}", {"anonymous": 302, "stranger": 404, "reviewer": 404}, 200),
    ("GET", "/organizations/{id}/edit", {"anonymous": 302, "owner": 200, "editor": 200}, 404),
    ("GET", "/organizations/{id}/evidence", {"anonymous": 302, "stranger": 404, "reviewer": 404}, 200),
    ("POST", "/organizations/{id}/members", {"anonymous": 302, "owner": 302}, 404),
    ("GET", "/manage/organizations", {"anonymous": 302, "manager": 200, "admin": 200}, 404),
    ("GET", "/manage/organizations/{id}/verify", {"anonymous": 302, "manager": 200, "admin": 200}, 404),
    ("GET", "/manage/audit", {"anonymous": 302, "manager": 200, "admin": 200}, 404),
    ("GET", "/admin/outbox", {"anonymous": 302, "admin": 200}, 404),
    ("GET", "/account", {"anonymous": 302}, 200),
    ("GET", "/applications/{app}", {"anonymous": 302, "owner": 200, "editor": 200}, 404),
    ("GET", "/applications/{app}/edit/budget", {"anonymous": 302, "owner": 200, "editor": 200}, 404),
    ("GET", "/applications/{app}/check", {"anonymous": 302, "owner": 200, "editor": 200}, 404),
    ("GET", "/applications/{app}/access-log", {"anonymous": 302, "owner": 200, "editor": 200}, 404),
    (
        "GET",
        "/consortia/{consortium}",
        {"anonymous": 302, "owner": 200, "editor": 200, "manager": 200, "admin": 200},
        404,
    ),
    ("GET", "/calls", {}, 200),
    ("GET", "/calls/{call}", {}, 200),
    ("GET", "/calls/{draft}", {"manager": 200, "admin": 200}, 404),
    ("GET", "/manage/calls", {"anonymous": 302, "manager": 200, "admin": 200}, 404),
    ("GET", "/manage/calls/{draft}", {"anonymous": 302, "manager": 200, "admin": 200}, 404),
    # The draft's deadline has passed, so even a manager's publish is refused (422), not hidden.
    ("POST", "/manage/calls/{draft}/status", {"anonymous": 302, "manager": 422, "admin": 422}, 404),
]
API = [
    ("GET", "/api/v1/me", {"anonymous": 401}, 200),
    ("GET", "/api/v1/organizations/{id}", {"anonymous": 401, "stranger": 404, "reviewer": 404}, 200),
    ("PATCH", "/api/v1/organizations/{id}", {"anonymous": 401, "owner": 200, "editor": 200}, 404),
    ("POST", "/api/v1/organizations/{id}/verify", {"anonymous": 401, "manager": 200, "admin": 200}, 404),
    ("POST", "/api/v1/organizations/{id}/members", {"anonymous": 401, "owner": 201}, 404),
    ("GET", "/api/v1/applications/{app}", {"anonymous": 401, "owner": 200, "editor": 200}, 404),
    # The call has not opened yet (it opens in 2027): refused with 409, not hidden.
    ("POST", "/api/v1/applications/{app}/submit", {"anonymous": 401, "owner": 409, "editor": 409}, 404),
    ("GET", "/api/v1/consortia/{consortium}", {"anonymous": 401, "stranger": 404, "reviewer": 404}, 200),
    ("GET", "/api/v1/calls/{call}", {}, 200),
    ("GET", "/api/v1/calls/{draft}", {"manager": 200, "admin": 200}, 404),
    ("PATCH", "/api/v1/calls/{draft}", {"anonymous": 401, "manager": 200, "admin": 200}, 404),
    ("POST", "/api/v1/calls/{draft}/publish", {"anonymous": 401, "manager": 422, "admin": 422}, 404),
]
BODIES = {
    "/api/v1/organizations/{id}/verify": {"women_led": True, "youth_led": False},
    "/api/v1/organizations/{id}/members": {"email": "new-{role}@example.kz", "role": "editor"},
    "/api/v1/organizations/{id}": {"description": "updated"},
    "/api/v1/calls/{draft}": {"description": {"ru": "Уточнено"}},
}


@pytest.fixture
def world(app, users):
    people = {
        "owner": users("owner@example.kz"),
        "editor": users("editor@example.kz"),
        "stranger": users("stranger@example.kz"),
        "reviewer": users("reviewer@example.kz", role="reviewer"),
        "manager": users("manager@example.kz", role="manager"),
        "admin": users("admin@example.kz", role="admin"),
    }
    from conftest import org_data
    from werkzeug.datastructures import FileStorage

    org = org_services.create(people["owner"], org_data(women_led="y"), FileStorage(io.BytesIO(PDF), filename="e.pdf"))
    from grants.extensions import db

    db.session.add(Membership(user_id=people["editor"].id, organization_id=org.id, role="editor"))
    db.session.commit()
    from calls.conftest import call_data

    from grants.calls import services as calls

    call = calls.create(people["manager"], call_data(code="PUB"))
    calls.publish(people["manager"], call)
    draft = calls.create(people["manager"], call_data(code="DRAFT", closes_at="2020-01-01T00:00",
                                                      opens_at="2019-01-01T00:00"))  # fmt: skip
    from grants.applications import services as applications
    from grants.consortia import services as consortia

    consortium = consortia.create(people["owner"], name="C", lead_organization_id=org.id, partner_organization_ids=[])
    application = applications.create(people["owner"], call, consortium)
    return {"id": org.id, "call": call.id, "draft": draft.id, "app": application.id, "consortium": consortium.id}


@pytest.mark.parametrize("role", ROLES)
def test_page_access_matrix(app, world, role):
    client = app.test_client()
    if role != "anonymous":
        login(client, f"{role}@example.kz")
    failures = []
    for method, url, special, default in PAGES:
        expected = special.get(role, default)
        path = url.format(**world)
        if method == "POST":
            token = csrf_token(client, "/login" if role == "anonymous" else "/account")
            data = {"csrf_token": token, "email": f"x-{role}@example.kz", "role": "editor", "to": "published"}
            response = client.post(path, data=data)
        else:
            response = client.get(path)
        if response.status_code != expected:
            failures.append((method, path, response.status_code, expected))
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_api_access_matrix(app, world, role):
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        token = client.post("/api/v1/auth/token", json={"email": f"{role}@example.kz", "password": PASSWORD}).json[
            "token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for method, url, special, default in API:
        expected = special.get(role, default)
        body = {k: (v.format(role=role) if isinstance(v, str) else v) for k, v in BODIES.get(url, {}).items()}
        response = client.open(url.format(**world), method=method, json=body if method != "GET" else None,
                               headers=headers)  # fmt: skip
        if response.status_code != expected:
            failures.append((method, url, response.status_code, expected, response.json))
    assert failures == []
