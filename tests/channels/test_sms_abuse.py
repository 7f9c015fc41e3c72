"""Verifying a phone cannot be turned against others: only mobile numbers, per-person and per-number
caps that hold under parallel requests, a site-wide daily cap, rate limits per person (not per IP
address), no telling whether a number is registered, and saves that do not fight each other — as a
person sees it, in kk and ru, against the fake SMS gateway (real HTTP)."""

import re
import threading
from urllib.parse import urlencode

import pytest
from conftest import csrf_token, login, post_form

from channels.fakes import channel_config
from grants.channels.models import ChannelChoice, PhoneCode, PhoneNumber
from grants.extensions import db

PAGE = "/account/channels"


def ask_code(client, phone: str):
    return post_form(client, "/account/channels/phone", {"phone": phone}, form_url=PAGE)


def code_sent_to(sms, phone: str) -> str:
    return re.search(r"\d{6}", sms.messages(phone)[-1]).group(0)


def test_only_kazakhstan_mobile_numbers_are_sent_a_code(app, frozen, users, client, fakes):
    _telegram, sms = fakes
    users("land@example.kz", locale="ru")
    login(client, "land@example.kz")
    for landline in ("+7 7172 55 66 77", "8 (727) 123-45-67"):  # Astana, Almaty
        refused = ask_code(client, landline)
        assert refused.status_code == 422
        assert "Это не мобильный номер. SMS доходят только на казахстанские мобильные номера" in refused.get_data(
            as_text=True
        )
    users("land-kk@example.kz", locale="kk")
    kk = app.test_client()
    login(kk, "land-kk@example.kz")
    refused = ask_code(kk, "+77252123456")  # Shymkent
    assert refused.status_code == 422 and "Бұл ұялы телефон нөмірі емес." in refused.get_data(as_text=True)
    assert sms.requests == []  # nothing left for the gateway
    for mobile in ("+7 700 000 00 01", "+7 747 000 00 01", "+7 778 000 00 01"):
        frozen.to(frozen.moment.replace(minute=(frozen.moment.minute + 2) % 60))
        assert ask_code(client, mobile).status_code == 302
    assert [r.body["to"] for r in sms.requests] == ["+77000000001", "+77470000001", "+77780000001"]


def test_a_number_someone_verified_is_sent_a_code_and_refused_only_at_verification(app, frozen, users, client, fakes):
    """The answer to "send a code" is the same for a free number and a registered one, so it
    tells nobody whether a number is registered; the code's holder is refused, neutrally."""
    _telegram, sms = fakes
    owner = users("owner@example.kz")
    db.session.add(PhoneNumber(user_id=owner.id, phone="+77011112233"))
    db.session.commit()
    users("other@example.kz", locale="ru")
    login(client, "other@example.kz")
    sent = ask_code(client, "+7 701 111 22 33")
    assert sent.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "Мы отправили код на +7 701 *** ** 33." in page and "другой учётной записью" not in page
    refused = post_form(client, "/account/channels/phone/verify", {"code": code_sent_to(sms, "+77011112233")},
                        form_url=PAGE)  # fmt: skip
    assert refused.status_code == 409
    assert "Этот номер нельзя подтвердить для вашей учётной записи. Укажите другой номер." in refused.get_data(
        as_text=True
    )
    assert db.session.execute(db.select(PhoneNumber.user_id)).scalars().all() == [owner.id]


def test_a_refused_sms_is_told_at_once_and_no_code_is_asked_for(app, frozen, users, client, fakes):
    """The SMS leaves after the commit; if the gateway refuses, the next page says so."""
    _telegram, sms = fakes
    users("gw@example.kz", locale="kk")
    login(client, "gw@example.kz")
    sms.fail(400, {"error": "invalid number"})
    response = ask_code(client, "+77015556677")
    assert response.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "SMS жіберілмеді. Кейінірек қайталап көріңіз." in page
    assert "Нөмірді растау" not in page  # no code to enter
    assert len(sms.requests) == 1


def test_the_site_sends_at_most_its_daily_number_of_codes(make_app, database_url, fakes, users):
    app = make_app(database_url, **channel_config(*fakes), SMS_DAILY_LIMIT=2)
    _telegram, sms = fakes
    with app.app_context():
        for i, locale in enumerate(("ru", "ru", "ru", "kk")):
            users(f"day{i}@example.kz", locale=locale)
        answers = []
        for i in range(4):
            client = app.test_client()
            login(client, f"day{i}@example.kz")
            answers.append(ask_code(client, f"+7701000000{i}"))
        assert [a.status_code for a in answers] == [302, 302, 429, 429]
        assert "Сегодня сайт отправил слишком много кодов подтверждения. Попробуйте завтра." in answers[2].get_data(
            as_text=True
        )
        assert "Бүгін сайттан растау кодтары тым көп жіберілді." in answers[3].get_data(as_text=True)
        assert len(sms.requests) == 2


def test_the_pages_rate_limits_count_per_person_not_per_address(app, frozen, users, fakes):
    """Ten requests for a code an hour per person; another person behind the same address (a
    university, a mobile operator's NAT) is not held back."""
    users("busy@example.kz", locale="ru")
    users("neighbour@example.kz", locale="ru")
    busy, neighbour = app.test_client(), app.test_client()
    login(busy, "busy@example.kz")
    login(neighbour, "neighbour@example.kz")
    statuses = [ask_code(busy, "+77017770000").status_code for _i in range(11)]
    assert statuses[0] == 302 and statuses[-1] == 429
    limited = ask_code(busy, "+77017770000").get_data(as_text=True)
    assert "меньше минуты назад" not in limited  # refused by the page's limit, before the service
    assert ask_code(neighbour, "+77017770001").status_code == 302


# --- parallel requests on PostgreSQL ---------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_parallel_requests_from_different_people_send_at_most_three_codes_to_a_number(app, users, fakes):
    """Eight people ask for a code to the same number at once: the number's lock lets three
    through in the hour, the rest are refused, and the gateway gets three SMS."""
    from grants.accounts.models import User
    from grants.channels import services

    _telegram, sms = fakes
    ids = [users(f"p{i}@example.kz").id for i in range(8)]
    db.session.commit()
    barrier, outcomes = threading.Barrier(len(ids)), []

    def ask(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                services.request_phone_code(user, "+77019990000")
                outcomes.append("sent")
            except services.TooManyRequests:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ask, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused"] * 5 + ["sent"] * 3
    assert db.session.execute(db.select(db.func.count(PhoneCode.id))).scalar() == 3
    assert len(sms.messages("+77019990000")) == 3


def _session_headers(client) -> dict:
    """The signed-in test client's session, for requests sent over real HTTP."""
    name = client.application.config["SESSION_COOKIE_NAME"]
    return {"Cookie": f"{name}={client.get_cookie(name).value}", "Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_parallel_saves_of_the_same_choices_all_succeed(app, users, client, live_server):
    from parallel import fire

    person = users("twice@example.kz")
    login(client, "twice@example.kz")
    token = csrf_token(client, PAGE)
    db.session.commit()
    body = urlencode({"csrf_token": token, "deadline.email": "y", "review_due.email": "y"}).encode()
    base = live_server(app)
    results = fire(base, [("POST", "/account/channels/choices", None, body)] * 6, headers=_session_headers(client))
    assert [r.status for r in results] == [200] * 6  # each answered 302 (no 409) and followed it to the page
    db.session.expire_all()
    rows = db.session.execute(db.select(ChannelChoice.kind).filter_by(user_id=person.id)).scalars().all()
    assert sorted(rows) == sorted(services_kinds())


def services_kinds() -> list[str]:
    from grants.channels.services import alert_kinds

    return list(alert_kinds())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_same_code_entered_twice_at_once_verifies_once_and_both_succeed(app, users, client, fakes, live_server):
    from parallel import fire

    _telegram, sms = fakes
    person = users("double@example.kz")
    login(client, "double@example.kz")
    assert ask_code(client, "+77014443322").status_code == 302
    token = csrf_token(client, PAGE)
    db.session.commit()
    body = urlencode({"csrf_token": token, "code": code_sent_to(sms, "+77014443322")}).encode()
    base = live_server(app)
    results = fire(base, [("POST", "/account/channels/phone/verify", None, body)] * 2,
                   headers=_session_headers(client))  # fmt: skip
    assert [r.status for r in results] == [200, 200]  # each answered 302 (no 409, no "expired") and followed it
    db.session.expire_all()
    assert db.session.execute(db.select(PhoneNumber.user_id, PhoneNumber.phone)).all() == [(person.id, "+77014443322")]
