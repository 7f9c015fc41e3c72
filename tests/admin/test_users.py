"""Users and roles: an admin finds people (Cyrillic or Latin), grants and revokes roles, disables
and re-enables accounts, changes an email by a link to the new address and resets two-factor
login; every change is audited and the person is told in their language. The last active admin
cannot be removed, not even by two admins demoting each other at the same moment."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, link_in, login, post_form, read_outbox, text_of
from parallel import api_token, fire

from grants.extensions import db

# The production database only (SQLite serves `make run`): each refusal is shown where it matters.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

KAZAKH = set("әғқңөұүһі")


@pytest.fixture
def app(make_app, database_url):
    # Two-factor login is its own feature (tests/accounts); here admins and managers sign in with
    # their password alone, so each test shows only user administration.
    app = make_app(database_url)
    with app.app_context():
        yield app


@pytest.fixture
def people(users, organization):
    """An admin (ru), a manager (kk) in an organization, an applicant (ru) with a Kazakh name."""
    admin = users("admin@example.kz", role="admin")
    manager = users("manager@example.kz", role="manager", locale="kk")
    aigul = users("aigul.s@example.kz")
    aigul.name = "Айгүл Сейітова"
    organization(manager, name="Жасыл Әлем")
    db.session.commit()
    return admin, manager, aigul


def _mails(app, before: int, to: str):
    return [m for m in read_outbox(app)[before:] if m["To"] == to]


def _user(email: str):
    from grants.accounts.models import User

    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()


def _audit(action: str) -> list:
    from grants.audit.models import AuditEvent

    return db.session.execute(db.select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


# --- finding people ------------------------------------------------------------------------------


def test_search_finds_people_by_name_in_cyrillic_or_latin_and_by_email(app, people):
    from grants.accounts import admin_services

    def found(q):
        return [u.email for u in db.session.execute(admin_services.search_query(q)).scalars()]

    assert found("Aigul") == found("айгүл") == found("сейітова") == found("Seyitova") == ["aigul.s@example.kz"]
    assert found("aigul.s@exa") == ["aigul.s@example.kz"]
    assert found("manager@") == ["manager@example.kz"]
    assert found("") == ["aigul.s@example.kz", "manager@example.kz", "admin@example.kz"]
    assert found("nobody") == []


def test_users_page_shows_roles_organizations_last_login_and_sessions_to_admins_only(app, people):
    admin, manager, _aigul = people
    manager_browser = app.test_client()
    login(manager_browser, manager.email)
    assert manager_browser.get("/admin/users").status_code == 404  # a manager is not an admin
    assert manager_browser.get(f"/admin/users/{admin.id}").status_code == 404
    client = app.test_client()
    login(client, admin.email)
    page = client.get("/admin/users?q=Zhasyl").get_data(as_text=True)  # no one has that name
    assert "manager@example.kz" not in page
    page = client.get("/admin/users?q=manager").get_data(as_text=True)
    assert "manager@example.kz" in page and "Менеджер программы" in page and "Жасыл Әлем" in page
    assert "по времени Астаны (UTC+5)" in page  # the last login, with its zone
    one = client.get(f"/admin/users/{manager.id}").get_data(as_text=True)
    assert "Активные сеансы" in one and "<dd>1</dd>" in one and "Жасыл Әлем" in one
    assert "aigul.s@example.kz" not in client.get("/admin/users?q=Сейіт&page=2").get_data(as_text=True)
    assert _user(manager.email).last_login_at is not None


# --- roles ---------------------------------------------------------------------------------------


def test_admin_grants_and_revokes_roles_audited_and_told_in_the_persons_language(app, people):
    admin, manager, aigul = people
    client = app.test_client()
    login(client, admin.email)
    before = len(read_outbox(app))
    url = f"/admin/users/{manager.id}"
    response = post_form(client, f"{url}/roles", {"roles": ["reviewer", "applicant"]}, form_url=url)
    assert response.status_code == 302
    assert _user(manager.email).roles == {"reviewer", "applicant"}
    [mail] = _mails(app, before, manager.email)
    text = text_of(mail)
    assert mail["Subject"] == "Гранттар платформасындағы рөлдеріңіз өзгерді"
    assert "Берілді: Өтініш беруші, Сарапшы" in text or "Берілді: Сарапшы, Өтініш беруші" in text
    assert "Алынып тасталды: Бағдарлама менеджері" in text, text
    [event] = _audit("user.roles_changed")
    assert event.actor_id == admin.id and event.before == {"roles": ["manager"]}
    audit = client.get("/manage/audit?object_type=user").get_data(as_text=True)
    assert "user.roles_changed" in audit

    # Russian for the applicant
    post_form(client, f"/admin/users/{aigul.id}/roles", {"roles": ["applicant", "reviewer"]},
              form_url=f"/admin/users/{aigul.id}")  # fmt: skip
    [ru] = _mails(app, before, aigul.email)
    assert ru["Subject"] == "Ваши роли на платформе грантов изменились"
    assert "Выданы: Эксперт" in text_of(ru) and "Здравствуйте, Айгүл Сейітова!" in text_of(ru)

    # an unknown role is refused, nothing saved
    refused = post_form(client, f"/admin/users/{aigul.id}/roles", {"roles": ["owner"]}, form_url=url)
    assert refused.status_code == 422 and "Неизвестная роль: owner." in refused.get_data(as_text=True)
    assert _user(aigul.email).roles == {"applicant", "reviewer"}


def test_the_last_admin_can_neither_lose_the_role_nor_be_disabled_and_nobody_disables_themselves(app, people):
    from grants.accounts import admin_services
    from grants.core.errors import Conflict, Forbidden

    admin, manager, _aigul = people
    client = app.test_client()
    login(client, admin.email)
    url = f"/admin/users/{admin.id}"
    refused = post_form(client, f"{url}/roles", {"roles": ["manager"]}, form_url=url)
    assert refused.status_code == 409
    assert "Это последний активный администратор" in refused.get_data(as_text=True)
    refused = post_form(client, f"{url}/disable", {}, form_url=url)
    assert refused.status_code == 403 and "Нельзя отключить собственную" in refused.get_data(as_text=True)
    assert _user(admin.email).is_admin and _user(admin.email).is_active

    second = admin_services.set_roles(admin, manager, ["admin"])
    assert second is True
    db.session.commit()
    admin_services.disable(_user(manager.email), _user(admin.email))  # allowed: another admin is left
    with pytest.raises(Conflict):  # but a disabled admin does not count as one
        admin_services.set_roles(_user(manager.email), _user(manager.email), ["manager"])
    with pytest.raises(Forbidden):  # and can no longer manage users
        admin_services.set_roles(_user(admin.email), _user(manager.email), ["manager"])
    admin_services.enable(_user(manager.email), _user(admin.email))
    with pytest.raises(Forbidden):
        admin_services.disable(_user(admin.email), _user(admin.email))
    db.session.rollback()
    # with two admins, one may step down
    assert admin_services.set_roles(_user(admin.email), _user(admin.email), ["manager"]) is True
    db.session.commit()
    assert not _user(admin.email).is_admin


# --- disabling ------------------------------------------------------------------------------------


def test_disabling_ends_sessions_and_tokens_stops_messages_and_refuses_login_until_enabled(app, people):
    from grants import notices
    from grants.broadcasts import services as broadcasts

    admin, manager, _aigul = people
    reviewer = _user("aigul.s@example.kz")
    from grants.accounts import admin_services

    admin_services.set_roles(admin, reviewer, ["reviewer"])
    db.session.commit()
    manager_browser = app.test_client()
    login(manager_browser, manager.email)
    token = api_token(app, manager)
    assert manager_browser.get("/manage/calls").status_code == 200
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert "manager@example.kz" in [e for e, _l in notices.managers()]

    client = app.test_client()
    login(client, admin.email)
    before = len(read_outbox(app))
    url = f"/admin/users/{manager.id}"
    assert post_form(client, f"{url}/disable", {}, form_url=url).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Отключена" in page and "<dd>0</dd>" in page

    # at once: the open session and the token no longer work, and login is refused
    assert manager_browser.get("/manage/calls").status_code == 302
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    again = post_form(app.test_client(), "/login", {"email": manager.email, "password": PASSWORD})
    assert again.status_code != 302
    # no more messages to the disabled account
    assert "manager@example.kz" not in [e for e, _l in notices.managers()]
    admin_services.disable(admin, _user(reviewer.email))
    db.session.commit()
    assert "aigul.s@example.kz" not in [e for e, _l in broadcasts.recipients("reviewers", None)]
    [told] = _mails(app, before, manager.email)
    assert told["Subject"] == "Гранттар платформасындағы тіркелгіңіз өшірілді"
    assert "API токендеріңіз енді жұмыс істемейді" in text_of(told)
    [event] = [e for e in _audit("user.disabled") if e.object_id == manager.id]
    assert event.actor_id == admin.id and event.after == {"sessions_ended": 1, "api_tokens_revoked": 1}

    assert post_form(client, f"{url}/enable", {}, form_url=url).status_code == 302
    assert _user(manager.email).is_active
    login(app.test_client(), manager.email)
    assert [m["Subject"] for m in _mails(app, before, manager.email)][-1] == (
        "Гранттар платформасындағы тіркелгіңіз қайта қосылды"
    )
    assert len(_audit("user.enabled")) == 1


def test_an_alert_claimed_before_the_account_was_disabled_is_not_sent(app, people):
    from grants.accounts import admin_services
    from grants.alerts import services as alerts
    from grants.alerts.models import Notification

    admin, manager, _aigul = people
    note = Notification(key="disabled-test", kind="review_due", object_type="assignment", object_id=1,
                        recipient=manager.email, language="kk")  # fmt: skip
    db.session.add(note)
    db.session.commit()
    admin_services.disable(admin, manager)
    before = len(read_outbox(app))
    assert alerts.send(note.id) == "skipped"
    assert db.session.get(Notification, note.id).error == "the account is disabled"
    assert _mails(app, before, manager.email) == []


# --- email change ------------------------------------------------------------------------------


def test_an_email_changes_only_when_the_link_sent_to_the_new_address_is_opened(app, people):
    admin, manager, _aigul = people
    client = app.test_client()
    login(client, admin.email)
    before = len(read_outbox(app))
    url = f"/admin/users/{manager.id}"
    taken = post_form(client, f"{url}/email", {"email": "aigul.s@example.kz"}, form_url=url)
    assert taken.status_code == 409 and "уже использует другая учётная запись" in taken.get_data(as_text=True)
    bad = post_form(client, f"{url}/email", {"email": "not an address"}, form_url=url)
    assert bad.status_code == 422
    assert post_form(client, f"{url}/email", {"email": "New.Manager@Example.kz"}, form_url=url).status_code == 302
    assert "new.manager@example.kz" in client.get(url).get_data(as_text=True)  # waiting for confirmation
    assert _user(manager.email) is not None  # nothing changed yet: the old address still logs in
    login(app.test_client(), manager.email)

    [confirm] = _mails(app, before, "new.manager@example.kz")
    assert confirm["Subject"] == "Жаңа электрондық пошта мекенжайыңызды растаңыз"
    [warned] = [m for m in _mails(app, before, manager.email) if m["Subject"] == "Электрондық пошта мекенжайыңызды өзгерту сұралды"]
    assert "new.manager@example.kz" in text_of(warned)
    link = link_in(confirm, "/account/email/")
    path = link.split("localhost", 1)[1]
    scanner = app.test_client().get(path)  # a mail scanner opening the link changes nothing
    assert scanner.status_code == 200 and "new.manager@example.kz" in scanner.get_data(as_text=True)
    assert _user("manager@example.kz") is not None
    opened = post_form(app.test_client(), path, {})
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/login")
    assert _user("manager@example.kz") is None and _user("new.manager@example.kz").is_verified
    login(app.test_client(), "new.manager@example.kz")
    assert post_form(app.test_client(), path, {}, form_url="/login").status_code == 409  # single use
    [changed] = [m for m in _mails(app, before, "manager@example.kz") if m["Subject"] == "Электрондық пошта мекенжайыңыз өзгертілді"]
    assert "new.manager@example.kz" in text_of(changed)
    assert [e.after["email"] for e in _audit("user.email_changed")] == ["new.manager@example.kz"]
    assert len(_audit("user.email_change_requested")) == 1


# --- two-factor reset -------------------------------------------------------------------------


def test_an_admin_resets_another_persons_two_factor_login(app, people):
    from grants.accounts import two_factor

    admin, manager, _aigul = people
    secret = two_factor.new_secret()
    two_factor.enable(manager, secret=secret, code=two_factor.code_at(secret))
    db.session.commit()
    client = app.test_client()
    login(client, admin.email)
    url = f"/admin/users/{manager.id}"
    assert "Настроен" in client.get(url).get_data(as_text=True)
    before = len(read_outbox(app))
    assert post_form(client, f"{url}/two-factor-reset", {}, form_url=url).status_code == 302
    assert not two_factor.is_enabled(_user(manager.email))
    [told] = _mails(app, before, manager.email)
    assert told["Subject"] == "Екі факторлы кіруіңіз қалпына келтірілді"
    assert len(_audit("user.two_factor_reset")) == 1
    assert "Сбросить двухфакторный вход" not in client.get(f"/admin/users/{admin.id}").get_data(as_text=True)


# --- API -------------------------------------------------------------------------------------------


def test_api_searches_users_and_sets_roles_and_disabled(app, people):
    admin, manager, aigul = people
    token = api_token(app, admin)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "ru"}
    listing = api.get("/api/v1/admin/users?q=Aigul", headers=auth).get_json()
    assert [u["email"] for u in listing["items"]] == ["aigul.s@example.kz"] and listing["total"] == 1
    assert listing["items"][0]["roles"] == ["applicant"] and listing["items"][0]["disabled"] is False
    managers_token = {"Authorization": f"Bearer {api_token(app, manager)}"}
    assert api.get("/api/v1/admin/users", headers=managers_token).status_code == 404

    patched = api.patch(f"/api/v1/admin/users/{aigul.id}", json={"roles": ["applicant", "reviewer"]}, headers=auth)
    assert patched.status_code == 200 and patched.get_json()["roles"] == ["applicant", "reviewer"]
    bad = api.patch(f"/api/v1/admin/users/{aigul.id}", json={"roles": ["root"]}, headers=auth)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_failed"
    bad = api.patch(f"/api/v1/admin/users/{aigul.id}", json={"roles": "admin"}, headers=auth)
    assert bad.status_code == 422
    last = api.patch(f"/api/v1/admin/users/{admin.id}", json={"roles": ["manager"]}, headers=auth)
    assert last.status_code == 409 and last.get_json()["error"]["code"] == "last_admin"
    own = api.patch(f"/api/v1/admin/users/{admin.id}", json={"disabled": True}, headers=auth)
    assert own.status_code == 403
    manager_token = api_token(app, manager)
    off = api.patch(f"/api/v1/admin/users/{manager.id}", json={"disabled": True}, headers=auth)
    assert off.status_code == 200 and off.get_json()["disabled"] is True
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {manager_token}"}).status_code == 401
    on = api.patch(f"/api/v1/admin/users/{manager.id}", json={"disabled": False}, headers=auth)
    assert on.get_json()["disabled"] is False and _user(manager.email).is_active
    assert api.patch("/api/v1/admin/users/999999", json={"disabled": True}, headers=auth).status_code == 404
    doc = api.get("/api/v1/openapi.json").get_json()
    assert "patch" in doc["paths"]["/api/v1/admin/users/{user_id}"] and "get" in doc["paths"]["/api/v1/admin/users"]
    from openapi_spec_validator import validate

    validate(doc)  # the operations above are described in a valid OpenAPI document


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, people, live_server):
    from grants.accounts import admin_services
    from grants.accounts.models import User

    admin, manager, _aigul = people
    admin_services.set_roles(admin, manager, ["admin"])
    db.session.commit()
    base = live_server(app)
    first, second = api_token(app, admin), api_token(app, manager)
    for _round in range(3):
        results = fire(base, [("PATCH", f"/api/v1/admin/users/{manager.id}", first, {"roles": ["manager"]}),
                              ("PATCH", f"/api/v1/admin/users/{admin.id}", second, {"roles": ["manager"]})])  # fmt: skip
        statuses = sorted(r.status for r in results)
        db.session.expire_all()
        admins = db.session.execute(db.select(User).where(User.roles_text.like("%admin%"))).scalars().all()
        assert len(admins) == 1, statuses
        # one demotion wins (200); the other is refused: its sender lost the role meanwhile (403
        # under the lock, 404 when it was lost before the request began) or the target is the
        # last admin (409)
        assert statuses[0] == 200 and statuses[1] in (403, 404, 409), [r.body for r in results]
        survivor = admins[0]
        other = manager if survivor.id == admin.id else admin
        admin_services.set_roles(survivor, db.session.get(User, other.id), ["admin"])
        db.session.commit()
