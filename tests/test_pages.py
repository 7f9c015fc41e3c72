"""Pages for slow links: byte budgets (not timings), no CDN, no web fonts, no JS needed,
security headers on every page."""

import gzip
import re

import pytest
from conftest import call_data, login

BUDGET = 40 * 1024
PUBLIC = ["/", "/login", "/register", "/password/forgot", "/verify-email", "/calls", "/subscribe"]
SIGNED_IN = ["/organizations", "/organizations/new", "/account", "{org}", "{org}/edit"]
MANAGER = [
    "/manage/organizations", "/manage/audit", "/manage/organizations/{id}/verify", "/manage/calls", "/manage/calls/new",
]  # fmt: skip


def first_load_bytes(client, path: str) -> tuple[int, int]:
    """Compressed and raw bytes of the HTML plus every stylesheet and script it loads."""
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.get_data()
    assets = re.findall(rb'<(?:link[^>]+href|script[^>]+src)="([^"]+)"', html)
    bodies = [html]
    for asset in assets:
        assert asset.startswith(b"/"), f"external resource on {path}: {asset!r}"
        bodies.append(client.get(asset.decode()).get_data())
    return sum(len(gzip.compress(b, 6)) for b in bodies), sum(len(b) for b in bodies)


@pytest.fixture
def signed_in(app, client, users, organization):
    owner = users("owner@example.kz")
    org = organization(owner)
    login(client, "owner@example.kz")
    return client, org


def test_public_pages_fit_the_budget(client):
    for path in PUBLIC:
        compressed, _raw = first_load_bytes(client, path)
        assert compressed <= BUDGET, (path, compressed)


def test_signed_in_pages_fit_the_budget(signed_in):
    client, org = signed_in
    for path in SIGNED_IN:
        compressed, _raw = first_load_bytes(client, path.format(org=f"/organizations/{org.id}"))
        assert compressed <= BUDGET, (path, compressed)


def test_manager_pages_fit_the_budget(app, client, users, organization):
    org = organization(users("owner@example.kz"))
    users("m@example.kz", role="manager")
    login(client, "m@example.kz")
    for path in MANAGER:
        compressed, _raw = first_load_bytes(client, path.format(id=org.id))
        assert compressed <= BUDGET, (path, compressed)


def test_pages_need_no_javascript_no_cdn_and_no_web_fonts(client):
    for path in PUBLIC:
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html
        assert "http://" not in html.split("<body")[0] and "https://" not in html.split("<body")[0]
    css = client.get("/static/style.css").get_data(as_text=True)
    assert "@font-face" not in css and "@import" not in css


def test_security_headers_are_set(client):
    response = client.get("/login")
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site(client, users):
    users("a@example.kz")
    response = login(client, "a@example.kz")
    cookie = [v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("grants_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_when_served_over_https(monkeypatch, tmp_path):
    from grants import config

    monkeypatch.setenv("GRANTS_BASE_URL", "https://grants.example.kz/")
    settings = config.from_environment(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["BASE_URL"] == "https://grants.example.kz"
    monkeypatch.setenv("GRANTS_BASE_URL", "http://127.0.0.1:5000")
    assert config.from_environment(tmp_path)["SESSION_COOKIE_SECURE"] is False


def test_call_pages_fit_the_budget(app, client, users):
    from grants.calls import services

    manager = users("m@example.kz", role="manager")
    call = services.create(manager, call_data())
    services.publish(manager, call)
    for path in (f"/calls/{call.id}", "/calls"):
        compressed, _raw = first_load_bytes(client, path)
        assert compressed <= BUDGET, (path, compressed)
    login(client, "m@example.kz")
    compressed, _raw = first_load_bytes(client, f"/manage/calls/{call.id}")
    assert compressed <= BUDGET


def test_application_pages_fit_the_budget(app, client, users):
    from applications.conftest import complete
    from conftest import org_data

    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin

    manager = users("m@example.kz", role="manager")
    lead = users("lead@example.kz")
    org = organizations.create(lead, org_data())
    partner = organizations.create(users("p@example.kz"), org_data(bin=complete_bin("21054000888"), name="P"))
    call = calls.create(manager, call_data())
    calls.publish(manager, call)
    consortium = consortia.create(lead, name="C", lead_organization_id=org.id, partner_organization_ids=[partner.id])
    application = applications.create(lead, call, consortium)

    class World:
        lead_org, partner_org = org, partner

    applications.save(lead, application, complete(World), version=application.version)
    login(client, "lead@example.kz")
    sizes = {}
    for section in (
        "summary",
        "problem",
        "workplan",
        "budget",
        "indicators",
        "partners",
        "attachments",
        "declarations",
    ):
        sizes[section] = first_load_bytes(client, f"/applications/{application.id}/edit/{section}")[0]
    for path in (f"/applications/{application.id}", f"/applications/{application.id}/check", "/applications",
                 "/consortia", "/consortia/new", f"/calls/{call.id}/apply", "/directory"):  # fmt: skip
        sizes[path] = first_load_bytes(client, path)[0]
    assert max(sizes.values()) <= BUDGET, sizes
    assert sizes["summary"] <= 25 * 1024, sizes  # the application form's own, stricter target
