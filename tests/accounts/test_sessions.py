"""Sessions end for good: an absolute lifetime from sign-in (14 days; 12 hours for managers and
admins), an idle timeout (3 days; 2 hours), expired rows refused and purged; the account page lists
the person's sessions and ends them (ASVS V7.3.1, V7.3.2, V7.4.5)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from conftest import NOW, PASSWORD, csrf_token, login, post_form

from grants.accounts.models import UserSession
from grants.extensions import db

# The production database only (SQLite serves `make run`): each refusal is shown where it matters.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)


def text_of(response) -> str:
    """The page with every run of spaces (no-break ones too, as dates have) as one space."""
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_applicant_session_ends_after_three_idle_days(app, users, frozen):
    users("a@example.kz")
    client = app.test_client()
    login(client, "a@example.kz")
    frozen.to(NOW + timedelta(days=2, hours=23))
    assert signed_in(client)  # activity moves the idle deadline
    frozen.to(NOW + timedelta(days=5, hours=22))
    assert signed_in(client)
    frozen.to(NOW + timedelta(days=8, hours=23))
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.execute(db.select(db.func.count(UserSession.id))).scalar_one() == 0  # and deleted


def test_applicant_session_ends_fourteen_days_after_sign_in_however_active(app, users, frozen):
    users("a@example.kz")
    client = app.test_client()
    login(client, "a@example.kz")
    for day in range(2, 14, 2):
        frozen.to(NOW + timedelta(days=day))
        assert signed_in(client), day
    frozen.to(NOW + timedelta(days=14, seconds=1))
    assert not signed_in(client)


def test_manager_session_ends_after_two_idle_hours_or_twelve_hours(app, users, frozen):
    users("m@example.kz", role="manager")
    client = app.test_client()
    login(client, "m@example.kz")
    frozen.to(NOW + timedelta(hours=1, minutes=50))
    assert signed_in(client)
    frozen.to(NOW + timedelta(hours=3, minutes=51))
    assert not signed_in(client)  # idle for two hours and a minute

    other = app.test_client()
    frozen.to(NOW + timedelta(hours=4))
    login(other, "m@example.kz")
    for hours in (1.5, 3, 4.5, 6, 7.5, 9, 10.5, 11.9):
        frozen.to(NOW + timedelta(hours=4 + hours))
        assert signed_in(other), hours
    frozen.to(NOW + timedelta(hours=16, minutes=1))
    assert not signed_in(other)  # twelve hours after sign-in, active or not


def test_last_seen_is_written_at_most_once_a_minute(app, users, frozen):
    users("a@example.kz")
    client = app.test_client()
    login(client, "a@example.kz")

    def last_seen():
        db.session.expire_all()
        return db.session.execute(db.select(UserSession.last_seen_at)).scalar_one()

    frozen.to(NOW + timedelta(seconds=40))
    assert signed_in(client) and last_seen() == NOW
    frozen.to(NOW + timedelta(seconds=75))
    assert signed_in(client) and last_seen() == NOW + timedelta(seconds=75)


def test_expired_sessions_are_purged_at_the_next_sign_in(app, users, frozen):
    users("a@example.kz")
    users("b@example.kz")
    for _n in range(3):
        login(app.test_client(), "a@example.kz")
    frozen.to(NOW + timedelta(days=15))
    login(app.test_client(), "b@example.kz")
    owners = db.session.execute(db.select(UserSession.user_id)).scalars().all()
    assert len(owners) == 1  # only b's new one: a's three are gone without a's visit


def test_the_hourly_task_purges_sessions_nobody_comes_back_to(app, users, frozen):
    from grants.tasks import sessions_purge

    users("a@example.kz")
    login(app.test_client(), "a@example.kz")
    kept = app.test_client()
    login(kept, "a@example.kz")
    frozen.to(NOW + timedelta(days=2))
    assert signed_in(kept)  # seen two days later: its idle time starts again
    frozen.to(NOW + timedelta(days=4))
    assert sessions_purge() == 1  # the first was idle for four days (the task's body, run here)
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(UserSession.id))).scalar() == 1 and signed_in(kept)


def test_account_lists_sessions_and_logs_out_everywhere_else(app, users, frozen):
    users("a@example.kz", locale="ru")
    users("b@example.kz")
    laptop = app.test_client()
    laptop.environ_base.update(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="10.1.2.3")
    phone = app.test_client()
    phone.environ_base.update(HTTP_USER_AGENT=ANDROID, REMOTE_ADDR="10.9.9.9")
    tablet = app.test_client()
    login(laptop, "a@example.kz")
    frozen.to(NOW + timedelta(minutes=5))
    login(phone, "a@example.kz")
    login(tablet, "a@example.kz")
    stranger = app.test_client()
    login(stranger, "b@example.kz")

    html = text_of(laptop.get("/account", headers={"Accept-Language": "ru"}))
    assert "Где выполнен вход" in html
    assert "Firefox / Windows" in html and "Chrome / Android" in html and "10.9.9.9" in html
    assert "(этот браузер)" in html and html.count("(этот браузер)") == 1
    assert "1 марта 2027 г., 11:00 по времени Астаны (UTC+5)" in html  # 06:00 UTC, signed in
    assert "Выйти на всех других устройствах" in html

    # End one session by its button; another person's session id answers 404.
    tablet_id = (
        db.session.execute(db.select(UserSession.id).order_by(UserSession.id.desc()).offset(1)).scalars().first()
    )
    theirs = db.session.execute(db.select(UserSession.id).order_by(UserSession.id.desc())).scalars().first()
    token = csrf_token(laptop, "/account")
    assert laptop.post(f"/account/sessions/{theirs}/end", data={"csrf_token": token}).status_code == 404
    assert signed_in(stranger)
    assert laptop.post(f"/account/sessions/{tablet_id}/end", data={"csrf_token": token}).status_code == 302
    assert not signed_in(tablet) and signed_in(phone)
    assert laptop.post(f"/account/sessions/{tablet_id}/end", data={}).status_code == 400  # no CSRF token

    response = post_form(laptop, "/account/sessions/end-others", {}, form_url="/account",
                         headers={"Accept-Language": "ru"}, follow_redirects=True)  # fmt: skip
    assert "Завершён 1 другой сеанс." in response.get_data(as_text=True)
    assert not signed_in(phone) and signed_in(laptop) and signed_in(stranger)


def test_sessions_page_in_kazakh(app, users, frozen):
    users("k@example.kz", locale="kk")
    client = app.test_client()
    login(client, "k@example.kz")
    html = text_of(client.get("/account", headers={"Accept-Language": "kk"}))
    assert "Қай жерде кіргенсіз" in html and "(осы браузер)" in html
    assert "Астана уақытымен 11:00 (UTC+5)" in html


def test_a_role_that_requires_two_factor_ends_a_session_without_it(app, users, frozen):
    user = users("a@example.kz")
    client = app.test_client()
    login(client, "a@example.kz")
    user.roles = {"manager"}
    db.session.commit()
    response = client.get("/account", headers={"Accept-Language": "ru"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get("/login", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "для вашей роли нужен двухфакторный вход" in page
    assert db.session.execute(db.select(db.func.count(UserSession.id))).scalar_one() == 0
    assert (
        post_form(client, "/login", {"email": "a@example.kz", "password": PASSWORD})
        .headers["Location"]
        .endswith("/login/setup")
    )
