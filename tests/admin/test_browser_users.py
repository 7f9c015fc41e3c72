"""In Chromium: an admin disables a manager on the users page; the manager's open session, in
another browser, stops working at once (the next page load shows the log-in page)."""

import pytest
from conftest import browser_login

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def app(make_app, database_url):
    # Both sign in with their second factor (browser_login computes the code as an app would).
    app = make_app(database_url)
    with app.app_context():
        yield app


def test_a_disabled_managers_open_session_stops_at_once(app, users, live_server, browser):
    from grants.extensions import db

    users("admin@example.kz", role="admin")
    manager = users("manager@example.kz", role="manager", locale="kk")
    manager.name = "Ерлан Нұрланұлы"
    db.session.commit()
    base = live_server(app)
    managers_browser, admins_browser = browser.new_context(), browser.new_context()
    try:
        theirs = browser_login(managers_browser, base, "manager@example.kz")
        theirs.goto(f"{base}/manage/calls")
        assert theirs.url.endswith("/manage/calls")

        page = browser_login(admins_browser, base, "admin@example.kz")
        page.click("header >> text=Пользователи")
        page.fill("input[name=q]", "Erlan")  # Latin finds the Cyrillic name
        page.click("main button[type=submit]")
        page.click("text=Ерлан Нұрланұлы")
        assert "Активные сеансы" in page.inner_text("main")
        page.click("text=Отключить учётную запись")
        assert "Учётная запись отключена" in page.inner_text(".flash")
        assert "Отключена" in page.inner_text("main")

        theirs.goto(f"{base}/manage/calls")
        assert "/login" in theirs.url
        assert theirs.locator("#password").count() == 1
    finally:
        managers_browser.close()
        admins_browser.close()
