"""Two-factor login (TOTP and recovery codes): required for managers and admins, optional for the
rest, rate-limited, codes never accepted twice; the API asks for `otp` (ASVS V6.5, V6.6)."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from conftest import NOW, PASSWORD, SECRET, SECRET_RE, csrf_token, login, post_form

from grants.accounts import two_factor
from grants.accounts.models import RecoveryCode, UserSession
from grants.audit.models import AuditEvent
from grants.core import clock
from grants.extensions import db


def code(secret: str, moment) -> str:
    return pyotp.TOTP(secret).at(moment)


def password_step(client, email: str, lang: str = "ru"):
    return post_form(client, "/login", {"email": email, "password": PASSWORD}, headers={"Accept-Language": lang})


def set_up(client, email: str, moment) -> tuple[str, list[str]]:
    """Password, then the setup page: returns (secret, recovery codes)."""
    assert password_step(client, email).headers["Location"].endswith("/login/setup")
    html = client.get("/login/setup").get_data(as_text=True)
    secret = SECRET_RE.search(html).group(1).replace(" ", "")
    response = post_form(client, "/login/setup", {"code": code(secret, moment)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    return secret, codes


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_a_manager_sets_up_totp_before_being_signed_in(app, users, frozen):
    users("m@example.kz", role="manager")
    client = app.test_client()
    assert password_step(client, "m@example.kz").headers["Location"].endswith("/login/setup")
    assert not signed_in(client)  # the password alone signs nobody in
    page = client.get("/login/setup", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "Настройка двухфакторного входа" in page
    assert 'src="data:image/svg+xml' in page and "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    secret = SECRET_RE.search(page).group(1).replace(" ", "")
    assert len(secret) == 32

    wrong = post_form(client, "/login/setup", {"code": "000000"}, headers={"Accept-Language": "ru"})
    assert wrong.status_code == 401 and "Код неверный или уже использован" in wrong.get_data(as_text=True)
    assert not signed_in(client)

    done = post_form(client, "/login/setup", {"code": code(secret, NOW)}, headers={"Accept-Language": "ru"})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Ваши резервные коды" in html
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", html)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert signed_in(client)
    stored = db.session.execute(db.select(RecoveryCode.code_hash)).scalars().all()
    assert len(stored) == 10 and not any(c.replace("-", "") in stored for c in codes)  # hashed only
    assert db.session.execute(db.select(UserSession.second_factor)).scalar_one() is True


def test_login_asks_for_the_code_and_a_code_is_never_accepted_twice(app, users, frozen):
    users("m@example.kz", role="manager")
    secret, _codes = set_up(app.test_client(), "m@example.kz", NOW)

    client = app.test_client()
    assert password_step(client, "m@example.kz").headers["Location"].endswith("/login/code")
    assert not signed_in(client)
    replay = post_form(client, "/login/code", {"code": code(secret, NOW)}, headers={"Accept-Language": "kk"})
    assert replay.status_code == 401
    assert "Код қате немесе бұрын пайдаланылған" in replay.get_data(as_text=True)
    frozen.to(NOW + timedelta(seconds=30))
    response = post_form(client, "/login/code", {"code": code(secret, NOW + timedelta(seconds=30))})
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert signed_in(client)

    again = app.test_client()
    password_step(again, "m@example.kz")
    refused = post_form(again, "/login/code", {"code": code(secret, NOW + timedelta(seconds=30))})
    assert refused.status_code == 401 and not signed_in(again)  # the same code, the same step
    older = post_form(again, "/login/code", {"code": code(secret, NOW)})
    assert older.status_code == 401  # nor an older one


def test_a_recovery_code_works_once(app, users, frozen):
    users("m@example.kz", role="manager")
    _secret, codes = set_up(app.test_client(), "m@example.kz", NOW)

    first = app.test_client()
    password_step(first, "m@example.kz")
    response = post_form(first, "/login/code", {"code": codes[3].upper().replace("-", " ")},
                         headers={"Accept-Language": "ru"}, follow_redirects=True)  # fmt: skip
    assert signed_in(first) and "осталось 9" in response.get_data(as_text=True)

    second = app.test_client()
    password_step(second, "m@example.kz")
    assert post_form(second, "/login/code", {"code": codes[3]}).status_code == 401
    assert not signed_in(second)
    actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert actions.count("user.recovery_code_used") == 1


def test_wrong_codes_are_rate_limited_per_account(app, users, frozen):
    users("m@example.kz", role="manager")
    secret, _codes = set_up(app.test_client(), "m@example.kz", NOW)
    statuses = []
    for _n in range(6):
        client = app.test_client()  # a fresh browser each time: the limit follows the account
        password_step(client, "m@example.kz")
        statuses.append(post_form(client, "/login/code", {"code": "123456"}).status_code)
    assert statuses == [401] * 5 + [429]
    client = app.test_client()
    password_step(client, "m@example.kz")
    frozen.to(NOW + timedelta(seconds=30))
    right = post_form(client, "/login/code", {"code": code(secret, NOW + timedelta(seconds=30))})
    assert right.status_code == 429 and not signed_in(client)  # even the right code waits


def test_ten_wrong_codes_from_any_route_lock_the_second_step_and_the_person_is_told(app, users, frozen):
    """ASVS 5.0 V6.3.1 (found by review): the limits were per route (5 on the page, 5 on the API,
    each for 15 minutes), so someone holding the password could guess about 1,000 codes a day.
    Now wrong codes in a row count on the account, from any route: the tenth locks the second step
    for an hour (even the right code waits) and the person is emailed, in their language."""
    from conftest import read_outbox

    from grants.accounts.models import TwoFactor

    person = users("m@example.kz", role="manager", locale="ru")
    secret, _codes = set_up(app.test_client(), "m@example.kz", NOW)
    before = len(read_outbox(app))
    for _n in range(5):
        client = app.test_client()
        password_step(client, "m@example.kz")
        assert post_form(client, "/login/code", {"code": "123456"}).status_code == 401
    api = app.test_client()
    body = {"email": "m@example.kz", "password": PASSWORD, "otp": "123456"}
    answers = [api.post("/api/v1/auth/token", json=body, headers={"Accept-Language": "ru"}) for _n in range(5)]
    assert [a.status_code for a in answers] == [401] * 4 + [429]
    assert answers[-1].json["error"]["code"] == "two_factor_locked" and "заблокирован" in answers[-1].json["error"]["message"]
    db.session.expire_all()
    row = db.session.get(TwoFactor, person.id)
    assert row.locked_until == NOW + timedelta(hours=1)
    [told] = read_outbox(app)[before:]
    assert told["To"] == "m@example.kz" and "10" in told.get_body(("plain",)).get_content()
    frozen.to(NOW + timedelta(minutes=5))
    with pytest.raises(two_factor.Locked):
        two_factor.verify(person, code(secret, NOW + timedelta(minutes=5)))
    db.session.rollback()
    frozen.to(NOW + timedelta(minutes=61))
    assert two_factor.verify(person, code(secret, NOW + timedelta(minutes=61))) == "totp"


def test_a_pending_password_step_expires_after_ten_minutes(app, users, frozen):
    users("m@example.kz", role="manager")
    secret, _codes = set_up(app.test_client(), "m@example.kz", NOW)
    client = app.test_client()
    password_step(client, "m@example.kz")
    frozen.to(NOW + timedelta(minutes=11))
    response = post_form(client, "/login/code", {"code": code(secret, NOW + timedelta(minutes=11))},
                         form_url="/login")  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert not signed_in(client)


def test_api_token_needs_the_code_for_an_account_with_totp(app, users, frozen):
    users("m@example.kz", role="manager")
    secret, _codes = set_up(app.test_client(), "m@example.kz", NOW)
    client = app.test_client()
    body = {"email": "m@example.kz", "password": PASSWORD}

    missing = client.post("/api/v1/auth/token", json=body, headers={"Accept-Language": "ru"})
    assert missing.status_code == 401 and missing.json["error"]["code"] == "otp_required"
    assert "«otp»" in missing.json["error"]["message"]
    wrong = client.post("/api/v1/auth/token", json=body | {"otp": "111111"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "invalid_otp"
    listed = client.post("/api/v1/auth/token", json=body | {"otp": ["111111"]})
    assert listed.status_code == 422
    frozen.to(NOW + timedelta(seconds=30))
    good = client.post("/api/v1/auth/token", json=body | {"otp": code(secret, NOW + timedelta(seconds=30))})
    assert good.status_code == 201 and good.json["token"]
    replayed = client.post("/api/v1/auth/token", json=body | {"otp": code(secret, NOW + timedelta(seconds=30))})
    assert replayed.status_code == 401


def test_a_token_without_the_code_serves_no_role_that_needs_it(app, users, frozen):
    """ASVS 5.0 V6.5 (found by review): an applicant's 30-day token kept working after the person
    was made a manager, and a password alone never needed TOTP again. Now such a token is refused
    (403 `two_factor_required`); a manager without TOTP gets none; one asked with the code works."""
    from grants.accounts.admin_services import set_roles
    from grants.accounts.models import Role

    admin = users("admin@example.kz", role="admin")
    person = users("p@example.kz")
    client = app.test_client()
    body = {"email": "p@example.kz", "password": PASSWORD}
    old = {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json=body).json["token"]}
    assert client.get("/api/v1/me", headers=old).status_code == 200
    set_roles(admin, person, {Role.APPLICANT, Role.MANAGER})
    db.session.commit()
    refused = client.get("/api/v1/me", headers=old | {"Accept-Language": "ru"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "two_factor_required"
    assert "двухфактор" in refused.json["error"]["message"]
    no_totp = client.post("/api/v1/auth/token", json=body)
    assert no_totp.status_code == 403 and no_totp.json["error"]["code"] == "two_factor_setup_required"
    secret, _codes = set_up(app.test_client(), "p@example.kz", NOW)
    frozen.to(NOW + timedelta(seconds=30))
    new = client.post("/api/v1/auth/token", json=body | {"otp": code(secret, NOW + timedelta(seconds=30))})
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer " + new.json["token"]}).status_code == 200


def test_an_applicant_turns_two_factor_on_and_off_on_the_account_page(app, users, frozen):
    users("a@example.kz", locale="kk")
    client = app.test_client()
    login(client, "a@example.kz")  # no second step: optional for applicants
    page = client.get("/account", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    assert "Екі факторлы кіруді қосу" in page
    secret = SECRET_RE.search(page).group(1).replace(" ", "")

    wrong_password = post_form(client, "/account/two-factor/enable", {"code": code(secret, NOW), "password": "nope"},
                               form_url="/account", headers={"Accept-Language": "kk"})  # fmt: skip
    assert wrong_password.status_code == 422 and "Құпиясөз қате." in wrong_password.get_data(as_text=True)
    assert not two_factor.is_enabled(_user("a@example.kz"))
    enabled = post_form(client, "/account/two-factor/enable", {"code": code(secret, NOW), "password": PASSWORD},
                        form_url="/account", headers={"Accept-Language": "kk"})  # fmt: skip
    assert enabled.status_code == 200 and "Қалпына келтіру кодтарыңыз" in enabled.get_data(as_text=True)
    assert signed_in(client)  # this browser stays signed in

    other = app.test_client()
    assert password_step(other, "a@example.kz").headers["Location"].endswith("/login/code")

    frozen.to(NOW + timedelta(seconds=30))
    off = post_form(client, "/account/two-factor/disable",
                    {"password": PASSWORD, "code": code(secret, NOW + timedelta(seconds=30))},
                    form_url="/account", headers={"Accept-Language": "kk"}, follow_redirects=True)  # fmt: skip
    assert "Екі факторлы кіру өшірілді." in off.get_data(as_text=True)
    assert password_step(app.test_client(), "a@example.kz").headers["Location"].endswith("/home")


def test_a_manager_cannot_turn_it_off_but_can_renew_recovery_codes(app, users, frozen):
    users("m@example.kz", role="manager")
    client = app.test_client()
    secret, codes = set_up(client, "m@example.kz", NOW)
    page = client.get("/account", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "его нельзя выключить" in page and "Выключить двухфакторный вход" not in page
    frozen.to(NOW + timedelta(seconds=30))
    refused = post_form(client, "/account/two-factor/disable",
                        {"password": PASSWORD, "code": code(secret, NOW + timedelta(seconds=30))},
                        form_url="/account", headers={"Accept-Language": "ru"})  # fmt: skip
    assert refused.status_code == 403 and two_factor.is_enabled(_user("m@example.kz"))

    password_only = post_form(client, "/account/two-factor/recovery-codes", {"password": PASSWORD}, form_url="/account")
    assert password_only.status_code == 422  # a stolen session and the password are not enough
    frozen.to(NOW + timedelta(seconds=60))
    renewed = post_form(client, "/account/two-factor/recovery-codes",
                        {"password": PASSWORD, "code": code(secret, NOW + timedelta(seconds=60))}, form_url="/account")  # fmt: skip
    fresh = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", renewed.get_data(as_text=True))
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    old = app.test_client()
    password_step(old, "m@example.kz")
    assert post_form(old, "/login/code", {"code": codes[0]}).status_code == 401
    assert post_form(old, "/login/code", {"code": fresh[0]}).status_code == 302


def test_another_admin_resets_two_factor_and_it_is_audited(app, users, frozen):
    from grants.core.errors import Forbidden

    users("m@example.kz", role="manager")
    admin = users("root@example.kz", role="admin")
    client = app.test_client()
    set_up(client, "m@example.kz", NOW)
    manager = _user("m@example.kz")
    try:
        two_factor.reset_two_factor(admin, admin)
    except Forbidden:
        pass
    else:
        raise AssertionError("an admin reset their own two-factor login")
    two_factor.reset_two_factor(manager, admin)
    assert not two_factor.is_enabled(manager) and not signed_in(client)  # sessions ended too
    event = db.session.execute(db.select(AuditEvent).filter_by(action="user.two_factor_reset")).scalar_one()
    assert event.actor_id == admin.id and event.object_id == manager.id
    assert password_step(app.test_client(), "m@example.kz").headers["Location"].endswith("/login/setup")


def test_the_setup_page_needs_the_password_step_first(app, users):
    users("m@example.kz", role="manager")
    client = app.test_client()
    assert client.get("/login/setup").headers["Location"].endswith("/login")
    assert client.get("/login/code").headers["Location"].endswith("/login")
    token = csrf_token(client, "/login")
    response = client.post("/login/code", data={"csrf_token": token, "code": "123456"})
    assert response.status_code == 302 and not signed_in(client)


def _user(email: str):
    from grants.accounts.services import find_by_email

    db.session.expire_all()
    return find_by_email(email)


def test_the_same_code_sent_at_once_signs_in_only_once(make_app, pg_database, live_server, users):
    """Replay under a race (PostgreSQL, real parallel requests): the TOTP row is locked first."""
    from conftest import _truncate_pg
    from parallel import fire

    _truncate_pg(pg_database)
    app = make_app(pg_database)
    base = live_server(app)
    with app.app_context(), clock.travel(NOW):
        users("m@example.kz", role="manager")
        secret, codes = set_up(app.test_client(), "m@example.kz", NOW)
        body = {"email": "m@example.kz", "password": PASSWORD, "otp": code(secret, NOW + timedelta(seconds=30))}
        results = fire(base, [("POST", "/api/v1/auth/token", None, body)] * 3)
        assert sorted(r.status for r in results) == [201] + [401] * 2
        recovery = {"email": "m@example.kz", "password": PASSWORD, "otp": codes[0]}
        results = fire(base, [("POST", "/api/v1/auth/token", None, recovery)] * 3)
        assert sorted(r.status for r in results) == [201] + [401] * 2


def test_the_authenticator_key_is_stored_encrypted_and_useless_under_another_site_key(app, users):
    """ASVS 5.0 V11.1 / V13.3 (secrets at rest): a database copy alone gives nobody's TOTP key."""
    from grants.accounts.models import TwoFactor
    from grants.core import vault

    user = users("a@example.kz")
    secret = two_factor.new_secret()
    two_factor.enable_with_known_secret(user, secret)
    stored = db.session.execute(db.text("SELECT secret_sealed FROM two_factor")).scalar_one()
    assert secret not in stored and secret.lower() not in stored.lower()
    assert db.session.get(TwoFactor, user.id).secret == secret  # read back through the site's key
    app.config["SECRET_KEY"] = "another-site-key"
    try:
        with pytest.raises(ValueError):
            vault.unseal(stored)
    finally:
        app.config["SECRET_KEY"] = SECRET
