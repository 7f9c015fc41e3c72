"""In Chromium, without a line of JavaScript of ours: a manager with no second factor is made to set
up TOTP at login (the key read from the page, the code computed here as an authenticator app
would), sees the recovery codes once, logs out, and logs in again with password and code."""

from datetime import timedelta

import pyotp
import pytest
from conftest import NOW, PASSWORD, _truncate_pg

from grants.core import clock


@pytest.fixture
def site(make_app, pg_database, live_server, users):
    _truncate_pg(pg_database)
    app = make_app(pg_database)
    base = live_server(app)
    with app.app_context():
        users("manager@example.kz", role="manager", locale="ru")
    return base


def test_a_manager_sets_up_totp_at_login_and_then_logs_in_with_a_code(browser, site):
    base = site
    with clock.travel(NOW) as travel:
        context = browser.new_context(locale="ru-RU", java_script_enabled=False)
        page = context.new_page()
        page.goto(base + "/manage/calls")
        assert "/login" in page.url
        page.fill("#email", "manager@example.kz")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")

        assert page.url.endswith("/login/setup")
        assert "Настройка двухфакторного входа" in page.inner_text("h1")
        assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
        page.goto(base + "/manage/calls")  # nothing opens before the setup is done
        assert "/login" in page.url
        page.goto(base + "/login/setup")
        secret = page.inner_text("#totp-secret").replace(" ", "")
        page.fill("#code", pyotp.TOTP(secret).at(NOW))
        page.click("main button[type=submit]")

        assert "Ваши резервные коды" in page.inner_text("h1")
        codes = page.locator("#recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        page.click("main a.button")
        assert page.url.endswith("/manage/calls")

        page.click("header form[action='/logout'] button")
        page.goto(base + "/manage/calls")
        assert "/login" in page.url

        travel.to(NOW + timedelta(seconds=30))  # the next code of the app
        page.fill("#email", "manager@example.kz")
        page.fill("#password", PASSWORD)
        page.click("main button[type=submit]")
        assert page.url.endswith("/login/code")
        page.fill("#code", pyotp.TOTP(secret).at(NOW))  # the code already used: refused
        page.click("main button[type=submit]")
        assert "Код неверный или уже использован" in page.inner_text("main")
        page.fill("#code", pyotp.TOTP(secret).at(NOW + timedelta(seconds=30)))
        page.click("main button[type=submit]")
        assert page.url.endswith("/manage/calls")
        page.goto(base + "/account")
        assert "(этот браузер)" in page.inner_text("#sessions + table")
        context.close()
