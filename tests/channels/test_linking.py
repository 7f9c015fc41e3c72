"""Linking Telegram by a one-time code (page → bot → webhook), verifying a phone by SMS code, and
choosing channels per alert kind — as a person does it, in kk and ru, against the fake Telegram Bot
API and SMS gateway (real HTTP)."""

import re
from datetime import timedelta

import pytest
from conftest import api_login, login, post_form

from channels.fakes import BOT, HEADERS, WEBHOOK_SECRET, update
from grants.channels.models import ChannelChoice, PhoneNumber, TelegramCode, TelegramLink
from grants.extensions import db

HOOK = f"/telegram/webhook/{WEBHOOK_SECRET}"


def get_code(client) -> str:
    page = post_form(client, "/account/channels/telegram", {}, form_url="/account/channels").get_data(as_text=True)
    match = re.search(rf"https://t\.me/{BOT}\?start=([A-Z0-9]+)", page)
    assert match, page
    assert f'<code class="one-time-code">{match.group(1)}</code>' in page
    return match.group(1)


def say(client, chat_id: int, text: str, **kwargs) -> str:
    response = client.post(HOOK, json=update(chat_id, text, **kwargs), headers=HEADERS)
    assert response.status_code == 200
    return (response.json or {}).get("text", "")


def test_a_person_links_telegram_with_the_deep_link_code_in_kazakh(app, frozen, users, client):
    users("aigul@example.kz", locale="kk")
    login(client, "aigul@example.kz")
    page = client.get("/account").get_data(as_text=True)
    assert "/account/channels" in page
    page = client.get("/account/channels").get_data(as_text=True)
    assert "Telegram-ды байланыстыру" in page
    code = get_code(client)
    assert db.session.execute(db.select(TelegramCode.code_hash)).scalar_one() != code  # only its HMAC is stored
    reply = say(client, 5001, f"/start {code}", username="aigul")
    assert "Дайын: бұл чат Grants тіркелгіңізге байланыстырылды" in reply
    assert "aigul@example.kz" not in reply  # the chat that used the code is not told the account's email
    link = db.session.execute(db.select(TelegramLink)).scalar_one()
    assert (link.chat_id, link.username) == (5001, "aigul")
    page = client.get("/account/channels").get_data(as_text=True)
    assert "@aigul чатымен байланыстырылған (байланыстырылған уақыты: " in page
    # the same code again, from another chat: refused (used once), in the sender's language
    assert "Бұл код жарамсыз немесе мерзімі өтіп кеткен" in say(client, 5002, code, language="kk")
    assert "Этот код недействителен или устарел" in say(client, 5003, code, language="ru")
    assert db.session.execute(db.select(db.func.count(TelegramLink.id))).scalar() == 1


def test_a_bare_code_links_and_an_expired_or_unknown_one_is_refused(app, frozen, users, client):
    users("marat@example.kz", locale="ru")
    login(client, "marat@example.kz")
    old = get_code(client)
    frozen.to(frozen.moment + timedelta(minutes=16))
    assert "Этот код недействителен или устарел" in say(client, 6001, old)
    assert "Этот код недействителен или устарел" in say(client, 6001, "ABCDEFGHJK")
    fresh = get_code(client)
    assert "Готово: этот чат привязан к вашей учётной записи Grants." in say(
        client, 6001, " ".join([fresh[:5].lower(), fresh[5:]])
    )  # typed by hand: spaces and small letters do not matter
    # a new code replaces the earlier one; /stop unlinks the chat
    assert "больше не привязан" in say(client, 6001, "/stop")
    assert db.session.execute(db.select(TelegramLink)).first() is None


def test_wrong_codes_from_one_chat_are_limited(app, frozen, users, client):
    users("u@example.kz")
    login(client, "u@example.kz")
    for _i in range(5):
        assert "недействителен" in say(client, 7001, "WRONGCODE2")
    code = get_code(client)
    assert "Слишком много неверных кодов" in say(client, 7001, code)  # even the right one, for an hour
    assert "Готово" in say(client, 7002, code)  # another chat is not held back


def test_the_webhook_refuses_a_wrong_secret(app, client):
    body = update(1, "/start")
    assert client.post("/telegram/webhook/wrong", json=body, headers=HEADERS).status_code == 404
    assert client.post(HOOK, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
    assert client.post(HOOK, json=body).status_code == 403
    assert client.post(HOOK, data=b"not json", headers=HEADERS).status_code == 200  # answered, nothing done


def test_the_path_alone_forges_nothing_the_header_carries_a_token_derived_from_the_secret(app, client, fakes):
    """The secret is in the path (access and proxy logs show it); the header must carry another
    token, derived from it, which `flask telegram set-webhook` gives Telegram."""
    from grants.channels.telegram import header_token

    telegram, _sms = fakes
    token = header_token(WEBHOOK_SECRET)
    assert token == HEADERS["X-Telegram-Bot-Api-Secret-Token"] and token != WEBHOOK_SECRET
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", token)
    forged = client.post(HOOK, json=update(1, "/start"), headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert forged.status_code == 403
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert WEBHOOK_SECRET not in result.output
    [request] = telegram.requests
    assert request.path.endswith("/setWebhook")
    assert request.body["url"] == f"http://localhost/telegram/webhook/{WEBHOOK_SECRET}"
    assert request.body["secret_token"] == token


def test_a_repeated_delivery_of_an_update_does_nothing(app, frozen, users, client):
    """Telegram delivers an update again when it thinks it was not answered: the same update_id
    answers 200 and does nothing."""
    from grants.channels.models import TelegramUpdate

    users("rep@example.kz")
    login(client, "rep@example.kz")
    body = update(6101, f"/start {get_code(client)}", update_id=424242)
    first = client.post(HOOK, json=body, headers=HEADERS)
    assert first.status_code == 200 and first.json["text"].startswith("Готово")
    again = client.post(HOOK, json=body, headers=HEADERS)
    assert again.status_code == 200 and again.json == {}
    stop = update(6101, "/stop", update_id=424242)  # a different message under a handled id: ignored too
    assert client.post(HOOK, json=stop, headers=HEADERS).json == {}
    assert db.session.execute(db.select(TelegramLink.chat_id)).scalar_one() == 6101
    assert db.session.execute(db.select(TelegramUpdate.update_id)).scalars().all() == [424242]


def test_each_chat_is_limited_not_the_webhook_as_a_whole(app, client):
    """Every update comes from Telegram's few addresses: the limit is per chat (20 answered a
    minute, more ignored), so one noisy chat does not hold back the others."""
    answered = [say(client, 7301, "hello") for _i in range(25)]
    assert all(answered[:20]) and answered[20:] == [""] * 5
    assert "Grants" in say(client, 7302, "hello")  # another chat is answered at once


def test_without_configuration_the_page_says_so_and_the_webhook_is_absent(make_app, database_url, users):
    app = make_app(database_url)
    with app.app_context():
        users("plain@example.kz", locale="ru")
        client = app.test_client()
        login(client, "plain@example.kz")
        page = client.get("/account/channels").get_data(as_text=True)
        assert "Telegram пока недоступен на этом сайте." in page
        assert "SMS пока недоступны на этом сайте." in page
        assert client.post(HOOK, json=update(1, "/start"), headers=HEADERS).status_code == 404


def test_a_phone_is_verified_by_an_sms_code_with_limited_attempts(app, frozen, users, client, fakes):
    _telegram, sms = fakes
    users("dana@example.kz", locale="ru")
    login(client, "dana@example.kz")
    bad = post_form(client, "/account/channels/phone", {"phone": "+7 495 123 45 67"}, form_url="/account/channels")
    assert bad.status_code == 422 and "Укажите казахстанский мобильный номер" in bad.get_data(as_text=True)
    sent = post_form(client, "/account/channels/phone", {"phone": "8 (701) 234-56-78"}, form_url="/account/channels")
    assert sent.status_code == 302
    [request] = sms.requests
    assert request.body["to"] == "+77012345678" and request.headers["Authorization"] == "Bearer sms-token"
    code = re.search(r"\d{6}", request.body["text"]).group(0)
    assert request.body["text"] == f"Grants: ваш код {code}. Он действует 10 минут."
    page = client.get("/account/channels").get_data(as_text=True)
    assert "Введите код, отправленный на +7 701 *** ** 78." in page
    again = post_form(client, "/account/channels/phone", {"phone": "87012345678"}, form_url="/account/channels")
    assert again.status_code == 429 and "меньше минуты назад" in again.get_data(as_text=True)
    wrong = "000000" if code != "000000" else "111111"
    refused = post_form(client, "/account/channels/phone/verify", {"code": wrong}, form_url="/account/channels")
    assert refused.status_code == 422 and "Неверный код. Осталось попыток: 4." in refused.get_data(as_text=True)
    ok = post_form(client, "/account/channels/phone/verify", {"code": code}, form_url="/account/channels")
    assert ok.status_code == 302
    assert db.session.execute(db.select(PhoneNumber.phone)).scalar_one() == "+77012345678"
    assert "Подтверждённый номер: +7 701 *** ** 78." in client.get("/account/channels").get_data(as_text=True)


def test_five_wrong_sms_codes_use_the_code_up(app, frozen, users, client, fakes):
    users("e@example.kz", locale="kk")
    login(client, "e@example.kz")
    post_form(client, "/account/channels/phone", {"phone": "+77019998877"}, form_url="/account/channels")
    code = re.search(r"\d{6}", fakes[1].requests[0].body["text"]).group(0)
    wrong = "000000" if code != "000000" else "111111"
    for _i in range(5):
        post_form(client, "/account/channels/phone/verify", {"code": wrong}, form_url="/account/channels")
    late = post_form(client, "/account/channels/phone/verify", {"code": code}, form_url="/account/channels")
    assert late.status_code == 422 and "Бұл кодтың мерзімі өтті" in late.get_data(as_text=True)
    assert db.session.execute(db.select(PhoneNumber)).first() is None


def test_channels_are_chosen_per_alert_kind_only_once_linked(app, frozen, users, client):
    users("f@example.kz", locale="ru")
    login(client, "f@example.kz")
    page = client.get("/account/channels").get_data(as_text=True)
    assert 'name="draft_deadline.telegram" value="y" aria-label' in page and "disabled" in page
    refused = post_form(client, "/account/channels/choices", {"draft_deadline.email": "y", "draft_deadline.telegram": "y"},
                        form_url="/account/channels")  # fmt: skip
    assert refused.status_code == 422 and "Привяжите Telegram или подтвердите номер телефона" in refused.get_data(
        as_text=True
    )
    say(client, 8001, get_code(client))
    saved = post_form(client, "/account/channels/choices", {"draft_deadline.telegram": "y", "deadline.email": "y"},
                      form_url="/account/channels")  # fmt: skip
    assert saved.status_code == 302
    rows = dict(db.session.execute(db.select(ChannelChoice.kind, ChannelChoice.telegram)).all())
    assert rows["draft_deadline"] is True and rows["deadline"] is False
    page = client.get("/account/channels").get_data(as_text=True)
    assert (
        'name="draft_deadline.telegram" value="y" aria-label="Мой черновик перед крайним сроком: Telegram" checked'
        in page
    )
    # unlinking takes Telegram out of every choice
    post_form(client, "/account/channels/telegram/unlink", {}, form_url="/account/channels")
    db.session.expire_all()
    assert not any(db.session.execute(db.select(ChannelChoice.telegram)).scalars())


def test_the_api_reads_and_sets_the_choices(app, frozen, users, client):
    users("g@example.kz", locale="en")
    token = api_login(client, "g@example.kz", "correct-horse-42").json
    auth = {"Authorization": f"Bearer {token['token']}"}
    got = client.get("/api/v1/me/channels", headers=auth).json
    assert got["telegram"] == {"available": True, "linked": False, "username": None}
    assert got["choices"]["review_due"] == ["email"] and set(got["choices"]) >= {"deadline", "award_overdue"}
    refused = client.put("/api/v1/me/channels", json={"choices": {"review_due": ["sms"]}}, headers=auth)
    assert refused.status_code == 422 and "review_due" in refused.json["error"]["fields"]
    assert client.put("/api/v1/me/channels", json={"choices": {"review_due": ["fax"]}}, headers=auth).status_code == 422
    done = client.put("/api/v1/me/channels", json={"choices": {"review_due": []}}, headers=auth)
    assert done.status_code == 200 and done.json["choices"]["review_due"] == []
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/me/channels"])
    assert "requestBody" in paths["/api/v1/me/channels"]["put"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_deliveries_of_one_code_at_once_link_once(app, frozen, users, client, live_server):
    from parallel import fire

    users("h@example.kz")
    login(client, "h@example.kz")
    code = get_code(client)
    db.session.commit()
    base = live_server(app)
    results = fire(base, [("POST", HOOK, None, update(9001, f"/start {code}")),
                          ("POST", HOOK, None, update(9002, f"/start {code}"))], headers=HEADERS)  # fmt: skip
    assert [r.status for r in results] == [200, 200]
    texts = sorted(r.body["text"][:6] for r in results)
    assert texts == ["Готово", "Этот к"]
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(TelegramLink.id))).scalar() == 1
