"""The home page after log-in: each role sees what waits for it, in Kazakh and Russian, and the
page's query count does not grow with the number of drafts, assignments or calls.

One world for the module (PostgreSQL), built through the real services like the demo: a lead
organization with a draft and two submitted applications, a partner organization still to confirm
a second consortium, a newcomer without an organization, two reviewers with assignments on a
call in review, a closed call with an application to screen, and a manager."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grants.core import clock

PASSWORD = "correct-horse-42"
NOW = clock.source().replace(microsecond=0)


def _user(email: str, role: str = "applicant", locale: str = "ru"):
    from grants.accounts import services
    from grants.accounts.models import Role

    return services.create_user(email=email, password=PASSWORD, name=email.split("@")[0], roles={Role(role)},
                                verified=True, locale=locale)  # fmt: skip


def build(travel) -> dict:
    from applications.conftest import complete
    from conftest import call_data, org_data

    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin
    from grants.reviews import services as reviews

    manager = _user("manager@example.kz", "manager")
    lead = _user("lead@example.kz", locale="kk")
    partner = _user("partner@example.kz")
    invited = _user("invited@example.kz")
    _user("newcomer@example.kz")
    reviewers = [_user("reviewer@example.kz", "reviewer", "kk"), _user("reviewer2@example.kz", "reviewer")]
    lead_org = organizations.create(lead, org_data(name="Арал ҮЕҰ", bin=complete_bin("20054000777")))
    partner_org = organizations.create(partner, org_data(name="Жас Дала", bin=complete_bin("21054000888")))
    invited_org = organizations.create(invited, org_data(name="Семей Жасыл", bin=complete_bin("22054000999")))
    consortium = consortia.create(lead, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    waiting = consortia.create(lead, name="Ертіс консорциумы", lead_organization_id=lead_org.id,
                               partner_organization_ids=[invited_org.id])  # fmt: skip

    def window(days: int) -> dict:
        return {
            "opens_at": (NOW - timedelta(days=1)).isoformat(),
            "closes_at": (NOW + timedelta(days=days)).isoformat(),
        }

    reviewed = calls.create(manager, call_data(code="REV-1", reviewers_per_application=1, **window(5)))
    screened = calls.create(manager, call_data(code="SCR-1", **window(5)))
    open_call = calls.create(manager, call_data(code="OPEN-1", title={"ru": "Чистая вода", "kk": "Таза су"},
                                                **window(40)))  # fmt: skip
    calls.create(manager, call_data(code="DRAFT-1"))
    for call in (reviewed, screened, open_call):
        calls.publish(manager, call)

    class Parties:
        pass

    Parties.lead_org, Parties.partner_org = lead_org, partner_org
    submitted = []
    for call in (reviewed, reviewed, screened):
        app = applications.create(lead, call, consortium)
        applications.save(lead, app, complete(Parties), version=app.version)
        applications.submit(lead, app)
        submitted.append(app)
    draft = applications.create(lead, open_call, consortium)
    applications.save(
        lead,
        draft,
        {"title": "Таза су жобасы", "summary": "Қысқаша", "requested_amount": 2_000_000},
        version=draft.version,
    )

    travel.to(NOW + timedelta(days=6))  # REV-1 and SCR-1 have closed; OPEN-1 closes in 34 days
    for app in submitted[:2]:
        reviews.set_eligibility(manager, app, eligible=True, reason="")
    reviews.auto_assign(manager, reviewed)
    return {"open_call": open_call, "draft": draft, "consortium": consortium, "waiting": waiting,
            "reviewers": reviewers, "manager": manager, "lead": lead, "parties": Parties}  # fmt: skip


@pytest.fixture(scope="module")
def site(pg_database, tmp_path_factory):
    from conftest import FreshContextClient, _base_config, _truncate_pg

    from grants import create_app
    from grants.extensions import db

    _truncate_pg(pg_database)
    app = create_app(_base_config(pg_database, tmp_path_factory.mktemp("home")))
    app.test_client_class = FreshContextClient
    with app.app_context(), clock.travel(NOW) as travel:
        world = build(travel)
        yield app, world
        db.session.remove()
        db.engine.dispose()


def home_as(app, email: str, language: str) -> str:
    """The text of /home for `email`, after choosing `language` with the header's link."""
    import re
    from html import unescape

    from conftest import login

    client = app.test_client()
    response = login(client, email)
    assert response.headers["Location"].endswith("/home")
    client.get(f"/language/{language}")
    response = client.get("/home")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    main = html.split('<main id="main">', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main))), html


def test_login_lands_on_home_unless_a_safe_next_is_given(site):
    from conftest import post_form

    app, _world = site
    client = app.test_client()
    response = post_form(client, "/login?next=/reviews", {"email": "reviewer@example.kz", "password": PASSWORD},
                         form_url="/login?next=/reviews")  # fmt: skip
    assert response.headers["Location"].endswith("/reviews")
    other = app.test_client()
    response = post_form(other, "/login?next=//evil.example", {"email": "reviewer@example.kz", "password": PASSWORD},
                         form_url="/login?next=//evil.example")  # fmt: skip
    assert response.headers["Location"].endswith("/home")
    assert other.get("/login").headers["Location"].endswith("/home")  # already signed in
    assert app.test_client().get("/home").status_code == 302  # signed out: to the log-in page


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_lead_sees_drafts_with_days_left_missing_sections_and_waiting_partners(site, language):
    app, world = site
    text, html = home_as(app, "lead@example.kz", language)
    if language == "kk":
        assert "Сізді не күтіп тұр" in text
        assert "34 күн қалды" in text  # OPEN-1 closes in 34 days
        assert "8 бөлімнің 6 бөлімін толтыру керек" in text  # title and summary are in; 6 sections to go
        assert "Астана уақытымен" in text
        assert "Серіктестердің растауы күтілуде" in text and "Семей Жасыл" in text
        assert "Тапсырылған, бағалануда" in text
        assert "Таза су" in text
    else:
        assert "Что вас ждёт" in text
        assert "осталось 34 дня" in text
        assert "Осталось заполнить разделов: 6 из 8" in text
        assert "по времени Астаны (UTC+5)" in text
        assert "Ждём подтверждения партнёров" in text and "Семей Жасыл" in text
        assert "Поданы, идёт оценка" in text
        assert "Чистая вода" in text
    draft = world["draft"]
    assert f'href="/applications/{draft.id}/edit/problem"' in html  # the first section to complete
    # A pure applicant sees the applicant menus in the header, and the Home link first.
    header = html.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert header.index('href="/home"') < header.index('href="/applications"')
    assert 'href="/organizations"' in header


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_partner_sees_the_consortium_invitation_to_answer(site, language):
    app, world = site
    text, html = home_as(app, "invited@example.kz", language)
    expected = {
        "kk": "Жауап беру керек консорциум шақырулары",
        "ru": "Приглашения в консорциумы, на которые нужно ответить",
    }
    assert expected[language] in text
    assert "Ертіс консорциумы" in text
    assert f'href="/consortia/{world["waiting"].id}"' in html


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_newcomer_sees_the_three_steps_and_the_open_calls(site, language):
    app, world = site
    text, html = home_as(app, "newcomer@example.kz", language)
    steps = {"kk": ("Ұйымыңызды тіркеңіз", "Серіктес ұйымдармен консорциум құрыңыз", "Ашық өтінімдер байқаулары"),
             "ru": ("Зарегистрируйте свою организацию", "Создайте консорциум с организациями-партнёрами",
                    "Открытые конкурсы заявок")}  # fmt: skip
    for words in steps[language]:
        assert words in text
    assert 'href="/organizations/new"' in html and 'href="/consortia/new"' in html
    assert "OPEN-1" in text and "REV-1" not in text  # only calls taking applications
    assert {"kk": "34 күн қалды", "ru": "осталось 34 дня"}[language] in text


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_a_reviewer_sees_declarations_to_make_with_due_dates_and_no_applicant_menus(site, language):
    from grants.extensions import db
    from grants.reviews.models import Assignment

    app, world = site
    reviewer = world["reviewers"][0]
    mine = db.session.execute(db.select(Assignment).filter_by(reviewer_id=reviewer.id)).scalars().all()
    assert mine
    text, html = home_as(app, reviewer.email, language)
    expected = {"kk": ("Мүдделер қақтығысы туралы мәлімдемелер: 1", "Мүдделер қақтығысы бар-жоғын мәлімдеп, бағалауға кірісіңіз", "21 күн қалды"),
                "ru": ("Деклараций о конфликте интересов ждут ответа: 1", "Укажите, есть ли конфликт интересов, затем оцените", "остался 21 день")}  # fmt: skip
    for words in expected[language]:
        assert words in text
    for assignment in mine:
        assert f'href="/reviews/{assignment.id}"' in html
    header = html.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert 'href="/home"' in header and 'href="/reviews"' in header
    assert 'href="/applications"' not in header and 'href="/organizations"' not in header


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_the_manager_sees_calls_by_stage_with_what_needs_action(site, language):
    app, world = site
    text, html = home_as(app, "manager@example.kz", language)
    expected = {
        "kk": ("Талаптарға сәйкестігі тексерілетін өтінімдер: 1", "Күтілетін сараптамалық бағалаулар: 2",
               "Шешім күтіп тұрған өтінімдер: 2", "Өтінімдер қабылдануда", "Байқауды аяқтап, жариялаңыз"),
        "ru": ("1 заявка ждёт проверки соответствия требованиям", "2 экспертные оценки ещё не получены",
               "2 заявки ждут решения", "Идёт приём заявок", "Завершите конкурс и опубликуйте его"),
    }  # fmt: skip
    for words in expected[language]:
        assert words in text, words
    for code in ("REV-1", "SCR-1", "OPEN-1", "DRAFT-1"):
        assert code in text
    assert "/manage/calls/" in html and "/review" in html and "/ranking" in html
    header = html.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert 'href="/applications"' not in header and 'href="/manage/calls"' in header


def test_the_public_home_links_signed_in_people_to_their_home(site):
    from conftest import login

    app, _world = site
    client = app.test_client()
    login(client, "lead@example.kz")
    assert 'href="/home"' in client.get("/").get_data(as_text=True)


def test_the_home_page_query_count_does_not_grow_with_the_data(site):
    """Counted before and after more drafts, assignments and calls (this test runs last: it adds)."""
    from conftest import call_data
    from test_queries import counting

    from grants.applications import services as applications
    from grants.calls import services as calls
    from grants.consortia import services as consortia
    from grants.reviews import assigning

    app, world = site

    def queries(email: str) -> int:
        from conftest import login

        client = app.test_client()
        login(client, email)
        client.get("/home")  # warm: the first request of a session loads the user once more
        with counting() as statements:
            assert client.get("/home").status_code == 200
        return len(statements)

    before = {email: queries(email) for email in ("lead@example.kz", "reviewer@example.kz", "manager@example.kz")}
    lead, manager = world["lead"], world["manager"]
    for n in range(3):  # three more drafts, each in its own consortium, and three more calls
        consortium = consortia.create(lead, name=f"Қосымша {n}", lead_organization_id=world["parties"].lead_org.id,
                                      partner_organization_ids=[world["parties"].partner_org.id])  # fmt: skip
        applications.create(lead, world["open_call"], consortium)
        calls.publish(manager, calls.create(manager, call_data(code=f"MORE-{n}")))
    from grants.extensions import db
    from grants.reviews.models import Assignment

    first, second = world["reviewers"]
    for assignment in db.session.execute(db.select(Assignment).filter_by(reviewer_id=second.id)).scalars().all():
        assigning.reassign(manager, assignment, first.id)  # the first reviewer now owes both
    db.session.commit()
    after = {email: queries(email) for email in before}
    assert after == before
