from datetime import timedelta

import pytest
from conftest import PASSWORD, csrf_token, link_in, login, post_form, read_outbox

from grants.accounts.models import AccountToken, User, UserSession
from grants.extensions import db

NEW = {"name": "Айгүл", "email": "Aigul@Example.kz", "password": "жасыл-дала-2026", "confirm": "жасыл-дала-2026"}


def register(client, **overrides):
    return post_form(client, "/register", {**NEW, "locale": "kk", **overrides})


def test_register_sends_a_verification_link_in_the_chosen_language_and_it_signs_in(app, client):
    response = register(client)
    assert response.status_code == 201
    assert "aigul@example.kz" in response.get_data(as_text=True)
    [msg] = read_outbox(app)
    assert msg["To"] == "aigul@example.kz"
    assert msg.get_body(preferencelist=("html",)) is not None
    link = link_in(msg, "/verify-email/")
    # Unverified: log-in is refused with a pointer to the email.
    refused = post_form(client, "/login", {"email": "aigul@example.kz", "password": NEW["password"]})
    assert refused.status_code == 403
    assert client.get(link.replace("http://localhost", "")).status_code == 302
    login(client, "aigul@example.kz", NEW["password"])
    assert client.get("/organizations").status_code == 200


def test_verification_link_used_twice_says_so(app, client):
    register(client)
    path = link_in(read_outbox(app)[0], "/verify-email/").replace("http://localhost", "")
    client.get(path)
    again = client.get(path, headers={"Accept-Language": "en"})
    assert again.status_code == 409
    assert "already been used" in again.get_data(as_text=True)


def test_expired_verification_link_is_refused(app, client):
    register(client)
    path = link_in(read_outbox(app)[0], "/verify-email/").replace("http://localhost", "")
    token = db.session.execute(db.select(AccountToken)).scalar_one()
    token.expires_at = token.created_at - timedelta(seconds=1)
    db.session.commit()
    response = client.get(path, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert db.session.execute(db.select(User.email_verified_at)).scalar_one() is None


def test_a_taken_email_makes_no_second_account_and_its_owner_is_told(app, client, users):
    """The answer is the one of a fresh registration (no enumeration: tests/security)."""
    users("aigul@example.kz")
    response = register(client, locale="ru")
    assert response.status_code == 201
    assert db.session.execute(db.select(db.func.count(User.id))).scalar_one() == 1
    [notice] = read_outbox(app)
    assert notice["To"] == "aigul@example.kz" and "/password/forgot" in notice.get_body(("plain",)).get_content()


@pytest.mark.parametrize("password", ["short1", "qwerty123456", "password123"])
def test_weak_password_is_refused_and_nothing_is_saved(app, client, password):
    client.set_cookie("lang", "kk")
    response = register(client, password=password, confirm=password)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "құпиясөз" in text.lower() or "құпия сөз" in text.lower()
    assert db.session.execute(db.select(db.func.count(User.id))).scalar_one() == 0
    assert read_outbox(app) == []


def test_form_without_csrf_token_is_refused(client):
    response = client.post("/register", data={**NEW, "locale": "ru"})
    assert response.status_code == 400
    assert db.session.execute(db.select(db.func.count(User.id))).scalar_one() == 0


def test_wrong_password_is_refused_with_401(client, users):
    users("a@example.kz")
    response = post_form(client, "/login", {"email": "a@example.kz", "password": "nope-nope-nope"})
    assert response.status_code == 401
    assert client.get("/organizations").status_code == 302


def test_account_is_locked_after_five_failures_even_with_the_right_password(client, users):
    users("a@example.kz")
    for _ in range(5):
        assert post_form(client, "/login", {"email": "a@example.kz", "password": "wrong-wrong-1"}).status_code == 401
    blocked = post_form(
        client, "/login", {"email": "a@example.kz", "password": PASSWORD}, headers={"Accept-Language": "en"}
    )
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_failures_on_one_account_do_not_lock_another_from_the_same_office(client, users):
    users("a@example.kz")
    users("b@example.kz")
    for _ in range(6):
        post_form(client, "/login", {"email": "a@example.kz", "password": "wrong-wrong-1"})
    assert login(client, "b@example.kz").status_code == 302


def test_logout_ends_the_session_and_a_replayed_cookie_fails(app, client, users):
    users("a@example.kz")
    login(client, "a@example.kz")
    cookie = client.get_cookie("grants_session").value
    token = csrf_token(client, "/account")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("grants_session", cookie)
    assert thief.get("/organizations").status_code == 302
    assert db.session.execute(db.select(db.func.count(UserSession.id))).scalar_one() == 0


def test_password_change_signs_out_other_devices(app, client, users):
    users("a@example.kz")
    other = app.test_client()
    login(other, "a@example.kz")
    login(client, "a@example.kz")
    response = post_form(
        client, "/account/password", {"current": PASSWORD, "new": "новый-пароль-2026", "confirm": "новый-пароль-2026"},
        form_url="/account",
    )  # fmt: skip
    assert response.status_code == 302
    assert client.get("/organizations").status_code == 200
    assert other.get("/organizations").status_code == 302


def test_password_reset_link_works_once_and_ends_old_sessions(app, client, users):
    users("a@example.kz")
    old = app.test_client()
    login(old, "a@example.kz")
    post_form(client, "/password/forgot", {"email": "a@example.kz"})
    path = link_in(read_outbox(app)[-1], "/password/reset/").replace("http://localhost", "")
    response = post_form(client, path, {"password": "совсем-новый-2026", "confirm": "совсем-новый-2026"})
    assert response.status_code == 302
    assert old.get("/organizations").status_code == 302
    login(client, "a@example.kz", "совсем-новый-2026")
    again = client.get(path, headers={"Accept-Language": "en"})
    assert again.status_code == 409


def test_password_reset_link_expires_after_an_hour(app, client, users):
    users("a@example.kz")
    post_form(client, "/password/forgot", {"email": "a@example.kz"})
    path = link_in(read_outbox(app)[-1], "/password/reset/").replace("http://localhost", "")
    token = db.session.execute(db.select(AccountToken)).scalar_one()
    assert token.expires_at - token.created_at == timedelta(hours=1)
    token.expires_at = token.created_at
    db.session.commit()
    assert client.get(path).status_code == 400


def test_reset_for_unknown_email_reveals_nothing(app, client):
    response = post_form(client, "/password/forgot", {"email": "nobody@example.kz"})
    assert response.status_code == 200
    assert read_outbox(app) == []


def test_cli_creates_verified_users(app):
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create",
            "--email",
            "m@example.kz",
            "--password",
            "manager-pass-1",
            "--role",
            "manager",
            "--verified",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(db.select(User).filter_by(email="m@example.kz")).scalar_one()
    assert user.is_manager and user.is_verified
    again = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "m@example.kz", "--password", "manager-pass-1", "--verified"]
    )
    assert again.exit_code != 0
