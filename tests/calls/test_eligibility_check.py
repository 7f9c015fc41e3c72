"""The eligibility check before writing ("Can we apply?" on the call page, and the API), rule by rule
in Kazakh and Russian, and the same rules refusing a submission with the same words.

The world is built once for the module through the real services (PostgreSQL): an open call limited
to two regions, 2–4 organizations and 1–5 million tenge; a closed call; an NGO member of organizations
that pass or break each rule; drafts that break the rules at submission."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from conftest import NOW, call_data

from grants.core import clock

PASSWORD = "correct-horse-42"
NGO = "ngo@example.kz"
NGO_BY_LANGUAGE = {"kk": "ngo-kk@example.kz", "ru": NGO}  # two members of the same organizations
STRANGER = "stranger@example.kz"

# Each rule's failing message, as the NGO reads it in each language (amounts: ₸ and thousands
# separators; regions: their names from the reference list, in the call's order of codes).
MESSAGES = {
    "region": {
        "kk": "Бұл байқауға жетекші ұйым ретінде тек мына өңірлердің ұйымдары өтінім бере алады: Ақтөбе облысы, "
        "Қызылорда облысы. Жетекші ұйымның өңірі: Алматы қаласы.",
        "ru": "Подать заявку на этот конкурс в качестве ведущей организации могут только организации из этих "
        "регионов: Актюбинская область, Кызылординская область. Регион ведущей организации: город Алматы.",
    },
    "legal_form": {
        "kk": "Бастамашыл топ серіктес бола алады, бірақ жетекші ұйым бола алмайды.",
        "ru": "Инициативная группа может быть партнёром, но не ведущей организацией.",
    },
    "consortium_size": {
        "kk": "Консорциумдағы мүшелер саны: 7; бұл байқау үшін ең азы 2, ең көбі 4 мүше қажет.",
        "ru": "Участников в консорциуме: 7; для этого конкурса нужно от 2 до 4.",
    },
    "amount_range": {
        "kk": "Сұралатын сома ең азы 1 000 000 ₸, ең көбі 5 000 000 ₸ болуы керек.",
        "ru": "Запрашиваемая сумма должна быть от 1 000 000 ₸ до 5 000 000 ₸.",
    },
    "call_closed": {  # followed by the deadline, then the closing sentence
        "kk": ("Соңғы мерзім өтіп кетті: ", ". Өтінімдер енді қабылданбайды."),
        "ru": ("Крайний срок подачи истёк ", ". Заявки больше не принимаются."),
    },
}
MAY_APPLY = {"kk": "Ұйымыңыз өтінім бере алады.", "ru": "Ваша организация может подать заявку."}
MAY_NOT = {
    "kk": "Ұйымыңыз бұл байқауға өтінім бере алмайды:",
    "ru": "Ваша организация не может подать заявку на этот конкурс:",
}

# rule -> (failing answers, passing answers): (call, organization, planned members, amount); the
# passing case sits on the rule's edge (the largest consortium, the largest grant, the other region).
CASES = {
    "region": (("open", "far", 3, 2_000_000), ("open", "aktobe", 3, 2_000_000)),
    "legal_form": (("open", "group", 3, 2_000_000), ("open", "aktobe", 3, 2_000_000)),
    "consortium_size": (("open", "ok", 7, 2_000_000), ("open", "ok", 4, 2_000_000)),
    "amount_range": (("open", "ok", 3, 9_000_000), ("open", "ok", 3, 5_000_000)),
    "call_closed": (("closed", "ok", 3, 2_000_000), ("open", "ok", 3, 2_000_000)),
}


def build(travel) -> dict:
    from conftest import org_data

    from grants.accounts import services as accounts
    from grants.accounts.models import Role
    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin

    def user(email: str, role: str = "applicant", locale: str = "ru"):
        return accounts.create_user(email=email, password=PASSWORD, name=email.split("@")[0], roles={Role(role)},
                                    verified=True, locale=locale)  # fmt: skip

    manager, ngo, partner, stranger = (
        user("manager@example.kz", "manager"),
        user(NGO),
        user("p@example.kz"),
        user(STRANGER),
    )
    orgs = {
        "ok": organizations.create(ngo, org_data(name="Арал ҮЕҰ", bin=complete_bin("20054000777"))),  # Kyzylorda
        "aktobe": organizations.create(ngo, org_data(name="Ақтөбе жасыл", bin=complete_bin("21054000888"),
                                                     region="aktobe", legal_form="public_association")),
        "far": organizations.create(ngo, org_data(name="Алатау ҮЕҰ", bin=complete_bin("22054000999"), region="almaty")),
        "group": organizations.create(ngo, org_data(name="Бастама", bin="", legal_form="initiative_group")),
        "partner": organizations.create(partner, org_data(name="Серіктес", bin=complete_bin("23054000111"))),
        "stranger": organizations.create(stranger, org_data(name="Бөтен", bin=complete_bin("24054000222"))),
    }  # fmt: skip

    def consortium(lead: str, *partners: str):
        made = consortia.create(ngo, name=f"Консорциум {lead}", lead_organization_id=orgs[lead].id,
                                partner_organization_ids=[orgs[p].id for p in partners])  # fmt: skip
        for p in partners:
            consortia.respond(partner, made, organization_id=orgs[p].id, accept=True)
        return made

    travel.to(NOW - timedelta(days=60))
    closed = calls.create(manager, call_data(code="OLD", opens_at=(NOW - timedelta(days=59)).isoformat(),
                                             closes_at=(NOW - timedelta(days=1)).isoformat()))  # fmt: skip
    calls.publish(manager, closed)
    late = applications.create(ngo, closed, consortium("ok", "partner"))
    travel.to(NOW)
    open_call = calls.create(manager, call_data(code="OPEN", closes_at=(NOW + timedelta(days=40)).isoformat(),
                                                regions=["kyzylorda", "aktobe"], consortium_max_members=4))  # fmt: skip
    calls.publish(manager, open_call)
    far = applications.create(ngo, open_call, consortium("far", "partner"))
    applications.save(ngo, far, {"title": "Алатау", "requested_amount": 9_000_000}, version=far.version)
    solo = applications.create(ngo, open_call, consortium("ok"))
    from grants.extensions import db
    from grants.organizations.models import Membership

    member_kk = user(NGO_BY_LANGUAGE["kk"], locale="kk")
    db.session.add_all(Membership(user_id=member_kk.id, organization_id=orgs[k].id, role="editor")
                       for k in ("ok", "aktobe", "far", "group"))  # fmt: skip
    db.session.commit()
    return {"calls": {"open": open_call.id, "closed": closed.id}, "orgs": {k: o.id for k, o in orgs.items()},
            "apps": {"far": far.id, "solo": solo.id, "late": late.id}}  # fmt: skip


@pytest.fixture(scope="module")
def site(pg_database, tmp_path_factory):
    from conftest import FreshContextClient, _base_config, _truncate_pg

    from grants import create_app
    from grants.extensions import db

    _truncate_pg(pg_database)
    app = create_app(_base_config(pg_database, tmp_path_factory.mktemp("eligibility")))
    app.test_client_class = FreshContextClient
    with app.app_context(), clock.travel(NOW) as travel:
        world = build(travel)
        yield app, world
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def browsers(site):
    """A signed-in browser per language (each member's own language setting)."""
    from conftest import login

    app, _world = site
    clients = {}
    for lang in ("kk", "ru"):
        client = app.test_client()
        login(client, NGO_BY_LANGUAGE[lang])
        clients[lang] = client
    return clients


@pytest.fixture(scope="module")
def token(site):
    from conftest import api_login

    app, _world = site
    return {email: api_login(app.test_client(), email).json["token"] for email in (NGO, STRANGER)}


def _text(html: str) -> str:
    return re.sub(
        r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ").replace("\u202f", " ")
    ).strip()


def answer_on_page(client, call_id: int, org_id, members, amount) -> tuple[int, str, list[str], str]:
    """(status, the answer block's heading line, each reason as rendered, the whole section's text)."""
    response = client.get(f"/calls/{call_id}", query_string={"check": "1", "organization_id": org_id,
                                                            "consortium_members": members, "requested_amount": amount})  # fmt: skip
    html = response.get_data(as_text=True)
    section = html.split('<section id="eligibility">', 1)[1].split("</section>", 1)[0]
    block = re.search(r'id="eligibility-answer">(.*?)</div>', section, re.S)
    reasons = [_text(li) for li in re.findall(r"<li data-code=\"[a-z_]+\">(.*?)</li>", section, re.S)]
    return response.status_code, _text(block.group(1)) if block else "", reasons, _text(section)


def api_check(app, token: str, call_id: int, body: dict, lang: str = "ru"):
    return app.test_client().post(f"/api/v1/calls/{call_id}/eligibility-check", json=body,
                                  headers={"Authorization": f"Bearer {token}", "Accept-Language": lang})  # fmt: skip


def expected(site, rule: str, lang: str) -> str:
    """The failing message; the deadline is written as every date of the site is, in that language."""
    from flask_babel import force_locale

    from grants.calls.models import Call
    from grants.extensions import db
    from grants.i18n import format_datetime

    app, world = site
    message = MESSAGES[rule][lang]
    if rule != "call_closed":
        return message
    with app.test_request_context(), force_locale(lang):
        when = format_datetime(db.session.get(Call, world["calls"]["closed"]).closes_at)
    return _text(message[0] + when + message[1])


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_refuses_with_its_reason_on_the_page_and_in_the_api(site, browsers, token, rule, lang):
    app, world = site
    call, org, members, amount = CASES[rule][0]
    call_id, org_id = world["calls"][call], world["orgs"][org]
    status, heading, reasons, _section = answer_on_page(browsers[lang], call_id, org_id, members, amount)
    assert status == 200
    assert heading.startswith(MAY_NOT[lang])
    assert reasons == [expected(site, rule, lang)]  # this rule alone refuses, in the reader's language
    response = api_check(app, token[NGO], call_id, {"organization_id": org_id, "answers": {
        "consortium_members": members, "requested_amount": amount}}, lang)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["eligible"] is False
    assert [r["code"] for r in response.json["reasons"]] == [rule]
    assert _text(response.json["reasons"][0]["message"]) == expected(site, rule, lang)


@pytest.mark.parametrize("lang", ["kk", "ru"])
@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_lets_through_what_it_allows(site, browsers, token, rule, lang):
    app, world = site
    call, org, members, amount = CASES[rule][1]
    call_id, org_id = world["calls"][call], world["orgs"][org]
    status, heading, reasons, section = answer_on_page(browsers[lang], call_id, org_id, members, amount)
    assert status == 200
    assert heading.startswith(MAY_APPLY[lang]) and reasons == []
    assert f'href="/calls/{call_id}/apply"' in browsers[lang].get(
        f"/calls/{call_id}?check=1&organization_id={org_id}&consortium_members={members}&requested_amount={amount}"
    ).get_data(as_text=True)  # the answer links to starting a draft
    assert expected(site, rule, lang) not in section
    response = api_check(app, token[NGO], call_id, {"organization_id": org_id, "answers": {
        "consortium_members": members, "requested_amount": amount}}, lang)  # fmt: skip
    assert response.status_code == 200 and response.json == {"eligible": True, "reasons": []}


def test_every_failing_rule_is_listed_at_once(site, token):
    app, world = site
    response = api_check(app, token[NGO], world["calls"]["closed"], {"organization_id": world["orgs"]["group"],
                         "answers": {"consortium_members": 1, "requested_amount": 1}})  # fmt: skip
    assert response.status_code == 200
    assert [r["code"] for r in response.json["reasons"]] == ["call_closed", "legal_form", "consortium_size",
                                                             "amount_range"]  # fmt: skip


def test_the_page_invites_visitors_to_sign_in_and_shows_no_form(site):
    app, world = site
    html = app.test_client().get(f"/calls/{world['calls']['open']}").get_data(as_text=True)
    section = html.split('<section id="eligibility">', 1)[1].split("</section>", 1)[0]
    assert "/login?next=" in section and 'name="requested_amount"' not in section
    assert "Войдите, чтобы проверить, может ли ваша организация подать заявку" in _text(section)


def test_the_form_offers_only_the_members_organizations(site, browsers):
    _app, world = site
    html = browsers["ru"].get(f"/calls/{world['calls']['open']}").get_data(as_text=True)
    section = html.split('<section id="eligibility">', 1)[1].split("</section>", 1)[0]
    assert 'method="get"' in section and "Можем ли мы подать заявку?" in _text(section)
    offered = set(re.findall(r'<option value="(\d+)"', section))
    assert offered == {str(world["orgs"][k]) for k in ("ok", "aktobe", "far", "group")}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            {"organization_id": "stranger"},
            "organization_id",
            "Выберите ведущую организацию из числа ваших организаций.",
        ),
        ({"consortium_members": "три"}, "consortium_members", "Введите целое число."),
        ({"requested_amount": ""}, "requested_amount", "Это поле обязательно для заполнения."),
        ({"consortium_members": "0"}, "consortium_members", "Введите число от 1 до 100."),
    ],
)
def test_bad_input_on_the_page_is_refused_with_field_messages(site, browsers, query, field, message):
    _app, world = site
    args = {"check": "1", "organization_id": world["orgs"]["ok"], "consortium_members": "3",
            "requested_amount": "2000000"} | query  # fmt: skip
    if args["organization_id"] == "stranger":
        args["organization_id"] = world["orgs"]["stranger"]
    response = browsers["ru"].get(f"/calls/{world['calls']['open']}", query_string=args)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = re.search(rf'<ul class="errors" id="check-{field}-err">(.*?)</ul>', html, re.S)
    assert errors and _text(errors.group(1)) == _text(message)
    assert 'id="eligibility-answer"' not in html


def test_api_answers_404_for_an_organization_the_caller_is_not_a_member_of(site, token):
    app, world = site
    answers = {"consortium_members": 3, "requested_amount": 2_000_000}
    for org_id in (world["orgs"]["stranger"], 999_999):
        response = api_check(app, token[NGO], world["calls"]["open"], {"organization_id": org_id, "answers": answers})
        assert response.status_code == 404
    response = api_check(app, token[NGO], 999_999, {"organization_id": world["orgs"]["ok"], "answers": answers})
    assert response.status_code == 404
    anonymous = app.test_client().post(f"/api/v1/calls/{world['calls']['open']}/eligibility-check",
                                       json={"organization_id": world["orgs"]["ok"], "answers": answers})  # fmt: skip
    assert anonymous.status_code == 401


def test_api_refuses_wrong_types_with_field_messages(site, token):
    app, world = site
    response = api_check(app, token[NGO], world["calls"]["open"], {"organization_id": "ok", "answers": {
        "consortium_members": "three", "requested_amount": -5}})  # fmt: skip
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert any("organization_id" in key for key in fields), fields
    assert any("consortium_members" in key for key in fields), fields
    assert any("requested_amount" in key for key in fields), fields
    assert all(isinstance(m, str) and m for messages in fields.values() for m in messages)
    missing = api_check(app, token[NGO], world["calls"]["open"], {"organization_id": world["orgs"]["ok"]})
    assert missing.status_code == 422 and any("answers" in key for key in missing.json["error"]["fields"])


def test_openapi_document_describes_the_reasons(site):
    app, _world = site
    document = app.test_client().get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/calls/{call_id}/eligibility-check"]["post"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    item = schema["properties"]["reasons"]["items"]
    assert item["required"] == ["code", "message"]
    assert set(item["properties"]["code"]["enum"]) == set(CASES)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_submission_refuses_by_the_same_rules_in_the_same_words(site, lang):
    """problems() asks the same rule functions: the region, amount and size of real drafts."""
    from flask_babel import force_locale

    from grants.applications import submission
    from grants.applications.models import Application
    from grants.extensions import db

    app, world = site
    with app.test_request_context(), force_locale(lang):
        far = db.session.get(Application, world["apps"]["far"])
        found = [_text(message) for _section, message in submission.problems(far)]
        assert expected(site, "region", lang) in found
        assert expected(site, "amount_range", lang) in found
        solo = db.session.get(Application, world["apps"]["solo"])
        size = [_text(m) for section, m in submission.problems(solo) if section == "partners"]
        assert MESSAGES["consortium_size"][lang].replace(": 7;", ": 1;") in size
        db.session.rollback()


def test_submit_through_the_api_is_refused_by_the_region_and_the_deadline(site, token):
    app, world = site
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token[NGO]}", "Accept-Language": "ru"}
    refused = client.post(f"/api/v1/applications/{world['apps']['far']}/submit", headers=headers)
    assert refused.status_code == 422
    partners = [_text(m) for m in refused.json["error"]["fields"]["partners"]]
    assert expected(site, "region", "ru") in partners
    late = client.post(f"/api/v1/applications/{world['apps']['late']}/submit", headers=headers)
    assert late.status_code == 409 and late.json["error"]["code"] == "deadline_passed"
    assert _text(late.json["error"]["message"]) == expected(site, "call_closed", "ru")
