"""The password rule (ASVS V6.2): zxcvbn score ≥ 3 with the person's own words, a leaked-password
list, at least 10 characters; said in the person's language on every way a password is set."""

import pytest
from conftest import PASSWORD, link_in, login, post_form, read_outbox
from flask import Flask
from flask_babel import Babel

from grants.accounts import passwords, services
from grants.accounts.models import User
from grants.extensions import db


@pytest.fixture(scope="module")
def plain():
    """The rule alone (no database): an English request context."""
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        yield


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "qwertyuiop123", "1234567890", "SunShine2010", "P@ssw0rd2024"])
def test_repeated_leaked_and_decorated_passwords_are_refused(plain, password):
    assert passwords.problems(password)


@pytest.mark.parametrize("password", ["correct-horse-42", "demo-grants-2026", "жасыл-дала-2026", "manager-pass-1"])
def test_phrases_the_tests_and_the_demo_use_are_accepted(plain, password):
    assert passwords.problems(password) == []


def test_the_leaked_list_is_large_loaded_once_and_case_insensitive(plain):
    assert passwords.breached_passwords() is passwords.breached_passwords()
    assert len(passwords.breached_passwords()) > 100_000
    assert passwords.is_breached("SUNSHINE2010") and passwords.is_breached("sunshine2010")
    assert not passwords.is_breached("correct-horse-42")


@pytest.mark.parametrize(
    "password",
    ["Aigerim2026!", "nurlanova1990", "aigerim.nurlanova@example.kz", "ЖасылДала2027", "Aigerim.Example.1990"],
)
def test_a_password_made_of_the_persons_own_words_is_refused(plain, password):
    words = passwords.personal_words(
        email="aigerim.nurlanova@example.kz", name="Aigerim Nurlanova", organizations=["Жасыл Дала"]
    )
    [reason, advice] = passwords.problems(password, words=words)
    assert "your email address, your name or the name of your organization" in reason
    assert "three or four unrelated words" in advice
    assert passwords.problems(password) == [] or "your name" not in passwords.problems(password)[0]


def test_short_password_says_the_length_and_what_helps(plain):
    [reason, advice] = passwords.problems("k7#Qz!")
    assert "at least 10 characters" in reason and "longer phrase" in advice


# --- every way a password is set, in kk and ru ------------------------------------------------


def test_registration_refuses_aaaaaaaaaa_in_kazakh_and_saves_nothing(app, client):
    client.set_cookie("lang", "kk")
    data = {"name": "Айгүл", "email": "aigul@example.kz", "locale": "kk"}
    response = post_form(client, "/register", data | {"password": "aaaaaaaaaa", "confirm": "aaaaaaaaaa"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "жария болған құпиясөздер тізімінде бар" in text
    assert "байланыссыз үш-төрт сөз" in text
    assert db.session.execute(db.select(db.func.count(User.id))).scalar_one() == 0
    assert read_outbox(app) == []


def test_registration_refuses_the_persons_name_in_russian(app, client):
    client.set_cookie("lang", "ru")
    data = {"name": "Гульнара Ахметова", "email": "gulnara@example.kz", "locale": "ru"}
    response = post_form(client, "/register", data | {"password": "Ахметова1987", "confirm": "Ахметова1987"})
    assert response.status_code == 422
    assert "Пароль содержит ваш адрес электронной почты, имя или название вашей организации" in response.get_data(
        as_text=True
    )


def test_password_change_refuses_the_organization_name_in_russian(app, client, users, organization):
    owner = users("owner@example.kz")
    organization(owner, name="Эко Дала")
    db.session.commit()
    login(client, "owner@example.kz")
    client.set_cookie("lang", "ru")
    response = post_form(
        client, "/account/password", {"current": PASSWORD, "new": "ЭкоДала2027", "confirm": "ЭкоДала2027"},
        form_url="/account",
    )  # fmt: skip
    assert response.status_code == 422
    assert "название вашей организации" in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.password_matches(services.find_by_email("owner@example.kz"), PASSWORD)  # unchanged


def test_password_reset_refuses_a_keyboard_row_in_kazakh(app, client, users):
    users("a@example.kz", locale="kk")
    post_form(client, "/password/forgot", {"email": "a@example.kz"})
    path = link_in(read_outbox(app)[-1], "/password/reset/").replace("http://localhost", "")
    client.set_cookie("lang", "kk")
    response = post_form(client, path, {"password": "qazwsxedcrfv", "confirm": "qazwsxedcrfv"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Бұл құпиясөз" in text
    # The link is still good for a better password.
    assert (
        post_form(client, path, {"password": "көкшетау-көлдері-2026", "confirm": "көкшетау-көлдері-2026"}).status_code
        == 302
    )


def test_api_registration_answers_422_with_the_reason_in_kazakh_and_russian(app, client):
    body = {"email": "dana@example.kz", "password": "Dana.Example.1990", "name": "Dana", "locale": "kk"}
    kk = client.post("/api/v1/users", json=body, headers={"Accept-Language": "kk"})
    assert kk.status_code == 422
    assert kk.json["error"]["fields"]["password"][0].startswith("Құпиясөзде электрондық поштаңыз")
    ru = client.post("/api/v1/users", json=body | {"password": "aaaaaaaaaa"}, headers={"Accept-Language": "ru"})
    assert ru.status_code == 422
    assert "списках утёкших паролей" in ru.json["error"]["fields"]["password"][0]
    assert db.session.execute(db.select(db.func.count(User.id))).scalar_one() == 0


def test_cli_users_create_applies_the_same_rule(app):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "--email", "m@example.kz", "--password", "password123"])
    assert weak.exit_code != 0 and "утёкших паролей" in weak.output  # the default locale, ru
    good = runner.invoke(args=["users", "create", "--email", "m@example.kz", "--password", "steppe-kettle-violet"])
    assert good.exit_code == 0, good.output
