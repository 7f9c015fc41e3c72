from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import login
from flask_babel import force_locale

from grants.i18n import format_datetime, format_money, zone
from grants.i18n_check import glued_suffixes, problems

ROOT = Path(__file__).resolve().parent.parent


def test_kk_and_ru_catalogs_are_complete_and_kazakh_is_kazakh():
    assert problems(ROOT / "translations") == []


def test_the_check_finds_kazakh_case_endings_glued_to_a_name():
    """Names end in their legal form («… қоғамдық бірлестігі»): no ending may follow a placeholder."""
    for glued in ("%(name)s-ның рөлі", "%(name)sын шақырады", "%(org)s ұйымын шақырады", "«%(name)s»-ға",
                  "%(lead)s ұйымы шақырады"):  # fmt: skip
        assert glued_suffixes(glued), glued
    for fine in ("Серіктестің рөлін сипаттаңыз: %(name)s.", "%(n)d-өлшем", "«%(name)s» консорциумына",
                 "%(size)s МБ-қа дейін", "Ұйым: %(name)s (%(role)s ретінде)"):  # fmt: skip
        assert not glued_suffixes(fine), fine


@pytest.mark.parametrize(
    ("accept", "expected", "word"),
    [
        ("kk", "kk", "Тіркелу"),
        ("ru-RU,ru;q=0.9", "ru", "Зарегистрироваться"),
        ("en-US", "en", "Register"),
        ("de", "ru", "Зарегистрироваться"),
    ],
)
def test_language_comes_from_accept_language_with_russian_as_default(client, accept, expected, word):
    html = client.get("/register", headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{expected}">' in html
    assert word in html


def test_cookie_beats_accept_language_and_the_user_setting_beats_both(client, users):
    client.get("/language/kk?next=/register")
    assert '<html lang="kk">' in client.get("/register", headers={"Accept-Language": "en"}).get_data(as_text=True)
    users("a@example.kz", locale="en")
    login(client, "a@example.kz")
    assert '<html lang="en">' in client.get("/organizations", headers={"Accept-Language": "kk"}).get_data(as_text=True)


def test_language_switcher_is_on_every_page_and_refuses_outside_redirects(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Қазақша" in html and "Русский" in html and "English" in html
    response = client.get("/language/kk?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_times_are_shown_in_astana_time_utc_plus_5(app):
    moment = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    assert zone("Asia/Almaty").utcoffset(moment).total_seconds() == 5 * 3600
    with app.test_request_context(), force_locale("ru"):
        text = format_datetime(moment)
        assert "18:00 по времени Астаны (UTC+5)" in text
    with app.test_request_context(), force_locale("kk"):
        assert "Астана уақытымен 18:00 (UTC+5)" in format_datetime(moment)


def test_tenge_amounts_are_formatted_per_locale(app):
    with app.test_request_context(), force_locale("ru"):
        assert format_money(1500000) == "1\xa0500\xa0000\xa0₸"
    with app.test_request_context(), force_locale("en"):
        assert format_money(1500000) == "1,500,000\xa0₸"


def test_emails_are_written_in_the_recipients_language(app, client):
    from conftest import post_form, read_outbox, text_of

    client.get("/language/en")
    post_form(client, "/register", {"name": "Бақыт", "email": "b@example.kz", "password": "жасыл-дала-2026",
                                    "confirm": "жасыл-дала-2026", "locale": "kk"})  # fmt: skip
    [msg] = read_outbox(app)
    assert "растаңыз" in msg["Subject"].lower() or "растау" in msg["Subject"].lower()
    assert any(ch in text_of(msg) for ch in "әғқңөұүһі")


def test_every_template_and_code_string_is_in_the_catalog(tmp_path):
    """A fresh extraction finds no message that the committed catalog lacks (make i18n ran)."""
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    target = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-k", "lazy_pgettext:1c,2", "--no-location", "-o", str(target), "."],
                   cwd=ROOT, check=True)  # fmt: skip
    with target.open("rb") as fh:
        fresh = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id}
    with (ROOT / "translations" / "kk" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        known = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh, locale="kk") if m.id}
    assert len(fresh) > 500  # the extraction really ran
    assert sorted(fresh - known) == []
