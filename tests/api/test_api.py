import pytest
from conftest import PASSWORD, api_login, org_data, read_outbox

from grants.extensions import db


def token_for(client, email: str, password: str = PASSWORD) -> dict:
    response = api_login(client, email, password)
    assert response.status_code == 201, response.json
    assert response.json["expires_at"]
    return {"Authorization": f"Bearer {response.json['token']}"}


def test_openapi_is_generated_and_lists_the_foundation_endpoints(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/auth/token", "post"), ("/api/v1/auth/token", "delete"), ("/api/v1/users", "post"),
        ("/api/v1/me", "get"), ("/api/v1/organizations", "post"), ("/api/v1/organizations/{org_id}/verify", "post"),
        ("/api/v1/organizations/{org_id}/members", "post"),
    ]:  # fmt: skip
        assert method in paths[path], (path, method)
    schema = paths["/api/v1/organizations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "astana" in schema["properties"]["region"]["enum"]
    assert "name" in schema["required"]


def test_register_by_api_sends_verification_and_unverified_token_is_403(app, client):
    response = client.post(
        "/api/v1/users", json={"email": "n@example.kz", "password": "long-enough-pass", "name": "N", "locale": "kk"}
    )
    assert response.status_code == 201
    assert response.json["email_verified"] is False
    assert len(read_outbox(app)) == 1
    refused = api_login(client, "n@example.kz", "long-enough-pass")
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "email_not_verified"


def test_errors_follow_the_format_and_the_request_language(client, users):
    users("a@example.kz")
    response = client.post(
        "/api/v1/users", json={"email": "a@example.kz", "password": "x", "name": ""}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) >= {"password", "name"}
    duplicate = client.post(
        "/api/v1/users", json={"email": "a@example.kz", "password": "long-enough-pass", "name": "A"},
        headers={"Accept-Language": "ru"},
    )  # fmt: skip
    assert duplicate.status_code == 201  # as for a new address (no enumeration: tests/security)
    assert "id" not in duplicate.json
    assert client.post("/api/v1/users", data="not json").status_code == 400


def test_me_needs_a_token_and_lists_organizations(client, users, organization):
    user = users("a@example.kz")
    assert client.get("/api/v1/me").status_code == 401
    assert (
        client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).json["error"]["code"] == "unauthorized"
    )
    org = organization(user)
    me = client.get("/api/v1/me", headers=token_for(client, "a@example.kz")).json
    assert me["email"] == "a@example.kz" and me["roles"] == ["applicant"]
    assert me["organizations"] == [{"id": org.id, "role": "owner"}]


def test_revoked_token_no_longer_works(client, users):
    users("a@example.kz")
    headers = token_for(client, "a@example.kz")
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_create_organization_validates_like_the_form(client, users):
    users("a@example.kz")
    headers = token_for(client, "a@example.kz") | {"Accept-Language": "en"}
    body = org_data() | {
        "staff_full_time": 2,
        "board_total": 5,
        "board_women": 3,
        "board_youth": 1,
        "head_birth_year": 1990,
    }
    bad = client.post("/api/v1/organizations", json=body | {"region": "mars", "bin": "123"}, headers=headers)
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) >= {"region"}
    created = client.post("/api/v1/organizations", json=body, headers=headers)
    assert created.status_code == 201
    assert created.json["region"] == "kyzylorda" and created.json["women_led_verified"] is False
    again = client.post("/api/v1/organizations", json=body, headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "bin_taken"


def test_verify_is_for_managers_and_others_get_404(client, users, organization):
    owner = users("a@example.kz")
    users("m@example.kz", role="manager")
    org = organization(owner)
    org.women_led = True
    db.session.commit()
    owner_headers = token_for(client, "a@example.kz")
    assert client.post(f"/api/v1/organizations/{org.id}/verify", json={"women_led": True, "youth_led": False},
                       headers=owner_headers).status_code == 404  # fmt: skip
    manager = token_for(client, "m@example.kz")
    bad = client.post(f"/api/v1/organizations/{org.id}/verify", json={"women_led": "yes"}, headers=manager)
    assert bad.status_code == 422
    ok = client.post(f"/api/v1/organizations/{org.id}/verify", json={"women_led": True, "youth_led": False},
                     headers=manager)  # fmt: skip
    assert ok.status_code == 200 and ok.json["women_led_verified"] is True


def test_members_endpoint_is_for_owners(app, client, users, organization):
    owner = users("a@example.kz")
    users("b@example.kz")
    org = organization(owner)
    assert client.post(f"/api/v1/organizations/{org.id}/members", json={"email": "c@example.kz", "role": "editor"},
                       headers=token_for(client, "b@example.kz")).status_code == 404  # fmt: skip
    response = client.post(f"/api/v1/organizations/{org.id}/members", json={"email": "c@example.kz", "role": "editor"},
                           headers=token_for(client, "a@example.kz"))  # fmt: skip
    assert response.status_code == 201
    assert read_outbox(app)[-1]["To"] == "c@example.kz"
    bad = client.post(f"/api/v1/organizations/{org.id}/members", json={"email": "c@", "role": "boss"},
                      headers=token_for(client, "a@example.kz"))  # fmt: skip
    assert bad.status_code == 422


def test_api_token_endpoint_is_rate_limited_per_account(client, users):
    users("a@example.kz")
    for _ in range(5):
        assert (
            api_login(client, "a@example.kz", "bad-bad-bad").status_code
            == 401
        )
    blocked = api_login(client, "a@example.kz", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.json["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("path", ["/api/v1/organizations/999999", "/api/v1/nope"])
def test_unknown_objects_are_404_in_json(client, users, path):
    users("a@example.kz")
    response = client.get(path, headers=token_for(client, "a@example.kz"))
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
