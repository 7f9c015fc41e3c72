"""Demo data for `make run`: a manager, an admin, a reviewer, two NGOs with users."""

from __future__ import annotations

from .accounts import services as accounts
from .accounts import two_factor
from .accounts.models import Role, User
from .applications.models import Application
from .extensions import db
from .organizations import services as organizations
from .organizations.bin import complete_bin
from .organizations.models import Organization

PASSWORD = "demo-grants-2026"
# The demo's managers and admins use two-factor login: these keys go into an authenticator app
# (or `pyotp.TOTP(key).now()`); the README's demo table lists them.
TOTP_SECRETS = {
    "manager@demo.kz": "GRANTSDEMOMANAGERKEYAAAAAAAAAAAA",
    "admin@demo.kz": "GRANTSDEMOADMINKEYAAAAAAAAAAAAAA",
}

PEOPLE = [
    ("manager@demo.kz", "Айгерим Нурланова", {Role.MANAGER}, "ru"),
    ("admin@demo.kz", "Admin", {Role.ADMIN, Role.MANAGER}, "en"),
    ("reviewer@demo.kz", "Сәуле Омарова", {Role.REVIEWER}, "kk"),
    ("aral@demo.kz", "Гульнара Ахметова", {Role.APPLICANT}, "ru"),
    ("zhasyl@demo.kz", "Ерлан Сейітов", {Role.APPLICANT}, "kk"),
    ("partner@demo.kz", "Марина Ким", {Role.APPLICANT}, "ru"),
]


def seed(only_if_empty: bool = True):
    if only_if_empty and db.session.execute(db.select(User.id).limit(1)).first():
        return None
    users = {}
    for email, name, roles, locale in PEOPLE:
        users[email] = accounts.create_user(
            email=email, password=PASSWORD, name=name, roles=roles, verified=True, locale=locale
        )
        if email in TOTP_SECRETS:  # managers and admins log in with a second factor (README)
            two_factor.enable_with_known_secret(users[email], TOTP_SECRETS[email])
    aral = organizations.create(
        users["aral@demo.kz"],
        {
            "name": "ОФ «Арал – чистая вода»", "bin": complete_bin("15034000123"), "legal_form": "public_fund",
            "region": "kyzylorda", "settlement": "rural", "settlement_name": "Аральск",
            "description": "Чистая вода и восстановление водно-болотных угодий Приаралья.",
            "staff_full_time": 3, "volunteers": 25, "head_gender": "female", "head_birth_year": 1984,
            "board_total": 5, "board_women": 3, "board_youth": 1,
        },
    )  # fmt: skip
    organizations.create(
        users["zhasyl@demo.kz"],
        {
            "name": "«Жасыл Ел Жастары» қоғамдық бірлестігі", "bin": complete_bin("19084000456"),
            "legal_form": "public_association", "region": "turkistan", "settlement": "urban",
            "settlement_name": "Түркістан", "description": "Жастардың экологиялық білімі және қалдықтарды сұрыптау.",
            "staff_full_time": 2, "staff_part_time": 2, "volunteers": 40, "head_gender": "male",
            "head_birth_year": 1998, "board_total": 4, "board_women": 2, "board_youth": 3,
        },
    )  # fmt: skip
    from .organizations.models import Membership

    db.session.add(Membership(user_id=users["partner@demo.kz"].id, organization_id=aral.id, role="editor"))
    db.session.commit()
    zhasyl = db.session.execute(db.select(Organization).where(Organization.name.like("%Жасыл%"))).scalar_one()
    _seed_calls(users["manager@demo.kz"])
    _seed_applications(users, aral, zhasyl)
    _seed_review(users)
    _seed_channels(users["aral@demo.kz"])
    _seed_questions(users)
    _seed_clarification(users["manager@demo.kz"])
    more = [(email, PASSWORD, "reviewer") for email, _n, _l in REVIEWERS]
    more += [(f"{who}{n}@demo.kz", PASSWORD, "applicant") for n in range(4) for who in ("lead", "partner")]
    return [(email, PASSWORD, ",".join(sorted(r.value for r in roles))) for email, _n, roles, _l in PEOPLE] + more


CRITERIA = [
    {
        "key": "relevance",
        "weight": 30,
        "max_score": 10,
        "title": {"kk": "Өзектілігі", "ru": "Актуальность", "en": "Relevance"},
    },
    {
        "key": "feasibility",
        "weight": 40,
        "max_score": 10,
        "title": {"kk": "Орындалуы мен бюджеті", "ru": "Реалистичность и бюджет", "en": "Feasibility and budget"},
    },
    {
        "key": "impact",
        "weight": 30,
        "max_score": 10,
        "title": {
            "kk": "Нәтижелері мен тұрақтылығы",
            "ru": "Результаты и устойчивость",
            "en": "Results and sustainability",
        },
    },
]


def _call(code: str, opens, closes, title: dict, themes: list, regions: list) -> dict:
    return {
        "code": code, "title": title, "envelope": 100_000_000, "min_amount": 2_000_000, "max_amount": 5_000_000,
        "opens_at": opens.isoformat(), "closes_at": closes.isoformat(), "themes": themes, "regions": regions,
        "criteria": CRITERIA,
        "description": {
            "ru": "Малые гранты консорциумам НПО на экологические проекты в регионах.",
            "kk": "Өңірлердегі экологиялық жобаларға ҮЕҰ консорциумдарына шағын гранттар.",
            "en": "Small grants to NGO consortia for environmental projects in the regions.",
        },
    }  # fmt: skip


def _seed_calls(manager) -> None:
    """An open call, one opening soon, and one already closed (published in the past)."""
    from datetime import timedelta

    from .calls import services as calls
    from .core import clock
    from .subscriptions.models import Subscription

    now = clock.now().replace(minute=0, second=0, microsecond=0)
    db.session.add(Subscription(email="subscriber@demo.kz", language="kk", confirmed_at=now))
    db.session.commit()
    open_call = calls.create(manager, _call(
        "SG-2027-1", now - timedelta(days=5), now + timedelta(days=20, hours=6),
        {"kk": "Таза су және қалдықтар: шағын гранттар 2027", "ru": "Чистая вода и отходы: малые гранты 2027",
         "en": "Clean water and waste: small grants 2027"}, ["water", "waste"], [],
    ))  # fmt: skip
    # Closes in three weeks: published at short notice, with the reason shown on its page.
    calls.publish(manager, open_call, short_notice_reason=(
        "Донор подтвердил финансирование программы только до декабря 2027 года: чтобы проекты успели "
        "завершиться, приём заявок продлится меньше месяца. Консультации для заявителей — каждый вторник."))  # fmt: skip
    upcoming = calls.create(manager, _call(
        "SG-2027-2", now + timedelta(days=10), now + timedelta(days=55),
        {"kk": "Ауыл жастарының климаттық бастамалары", "ru": "Климатические инициативы сельской молодёжи",
         "en": "Climate initiatives of rural youth"}, ["climate", "education"], ["kyzylorda", "turkistan", "mangystau"],
    ))  # fmt: skip
    calls.publish(manager, upcoming)
    with clock.travel(now - timedelta(days=60)):
        closed = calls.create(manager, _call(
            "SG-2026-4", now - timedelta(days=60), now - timedelta(days=2),
            {"kk": "Биоәртүрлілікті сақтау 2026", "ru": "Сохранение биоразнообразия 2026",
             "en": "Biodiversity conservation 2026"}, ["biodiversity"], [],
        ))  # fmt: skip
        calls.publish(manager, closed)
    calls.create(manager, _call(
        "SG-2027-3", now + timedelta(days=30), now + timedelta(days=90),
        {"ru": "Чистый воздух в городах (черновик)", "kk": "Қалалардағы таза ауа (қаралама)"}, ["air"], [],
    ))  # fmt: skip


def _content(lead_id: int, partner_id: int, title: str) -> dict:
    return {
        "title": title, "language": "ru", "requested_amount": 3_000_000,
        "summary": "Раздельный сбор отходов в пяти сёлах Аральского района с обучением волонтёров.",
        "problem": "Бытовые отходы сжигают во дворах; ближайший полигон в 60 км.",
        "objectives": "К 10-му месяцу 5 сёл сортируют пластик и стекло; участвуют 60% домохозяйств.",
        "activities": "Обучение волонтёров; пункты сбора; договор с акиматом о вывозе.",
        "workplan": [{"activity": "Обучение волонтёров", "start_month": 1, "end_month": 2},
                     {"activity": "Пункты сбора в 5 сёлах", "start_month": 2, "end_month": 4}],
        "budget_lines": [
            {"category": "equipment", "description": "Контейнеры", "organization_id": lead_id, "quantity": "20",
             "unit_cost": 75_000},
            {"category": "events", "description": "Тренинги для волонтёров", "organization_id": partner_id,
             "quantity": "6", "unit_cost": 250_000},
        ],
        "indicators": [{"name": "Домохозяйства, сортирующие отходы", "unit": "домохозяйств", "baseline": "0",
                        "target": "300"}],
        "partner_roles": {str(partner_id): "Обучает волонтёров и ведёт работу с молодёжью."},
        "declarations": {"truthful": True, "no_double_funding": True, "consent": True},
    }  # fmt: skip


def _seed_applications(users, aral, zhasyl) -> None:
    """A consortium with a submitted application to the open call, and a draft in another."""
    from .applications import services as applications
    from .calls.models import Call
    from .consortia import services as consortia

    lead, partner = users["aral@demo.kz"], users["zhasyl@demo.kz"]
    aral.public_profile = zhasyl.public_profile = True
    db.session.commit()
    consortium = consortia.create(lead, name="Консорциум «Чистый Арал»", lead_organization_id=aral.id,
                                  partner_organization_ids=[zhasyl.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=zhasyl.id, accept=True)
    open_call = db.session.execute(db.select(Call).filter_by(code="SG-2027-1")).scalar_one()
    app = applications.create(lead, open_call, consortium, _content(aral.id, zhasyl.id, "Чистый Арал: раздельный сбор"))
    applications.submit(lead, app)
    upcoming = db.session.execute(db.select(Call).filter_by(code="SG-2027-2")).scalar_one()
    draft = applications.create(lead, upcoming, consortium)
    applications.save(lead, draft, {"title": "Климат-клубы в сельских школах", "summary": "Черновик: идея проекта."},
                      version=draft.version)  # fmt: skip


REVIEWERS = [("reviewer2@demo.kz", "Дина Абенова", "ru"), ("reviewer3@demo.kz", "Arman Zhumabekov", "en")]


def _seed_review(users) -> None:
    """Two past calls: SG-2026-3 is in review (assignments waiting for reviewer@demo.kz; lead3@demo.kz's application
    declared ineligible, with its appeal waiting for the manager),
    SG-2026-5 is decided (reviews, ranking, decisions, and an award in each state)."""
    from datetime import timedelta

    from .applications import services as applications
    from .calls import services as calls
    from .calls.models import Call
    from .consortia import services as consortia
    from .core import clock
    from .reviews import appeals
    from .reviews import services as reviews

    manager = users["manager@demo.kz"]
    for email, name, locale in REVIEWERS:
        users[email] = accounts.create_user(email=email, password=PASSWORD, name=name, roles={Role.REVIEWER},
                                            verified=True, locale=locale)  # fmt: skip
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    teams = []
    for n, (region, name) in enumerate([("mangystau", "Каспий табиғаты"), ("pavlodar", "Ертіс жағалауы"),
                                        ("abai", "Семей орманы"), ("akmola", "Бурабай көлдері")]):  # fmt: skip
        lead = accounts.create_user(email=f"lead{n}@demo.kz", password=PASSWORD, name=f"Lead {n}", roles={Role.APPLICANT},
                                    verified=True, locale="kk" if n % 2 else "ru")  # fmt: skip
        partner = accounts.create_user(email=f"partner{n}@demo.kz", password=PASSWORD, name=f"Partner {n}",
                                       roles={Role.APPLICANT}, verified=True)  # fmt: skip
        lead_org = organizations.create(lead, {
            "name": f"ОФ «{name}»", "bin": complete_bin(f"1805400{n}321"), "legal_form": "public_fund", "region": region,
            "settlement": "rural" if n != 1 else "urban", "head_gender": "female" if n == 0 else "male",
            "head_birth_year": 1995 if n == 2 else 1980, "board_total": 3, "board_women": 2 if n == 0 else 1,
            "board_youth": 2 if n == 2 else 0, "women_led": n == 0, "youth_led": n == 2, "public_profile": True,
        }, _evidence() if n in (0, 2) else None)  # fmt: skip
        if n in (0, 2):
            organizations.verify(manager, lead_org, women_led=n == 0, youth_led=n == 2, note="Устав проверен")
        partner_org = organizations.create(partner, {
            "name": f"Бастамашыл топ «{name} жастары»", "legal_form": "initiative_group", "region": region,
            "settlement": "rural"})  # fmt: skip
        teams.append((lead, lead_org, partner, partner_org))
    for code, title, decided in (("SG-2026-3", {"ru": "Чистый воздух в малых городах 2026", "kk": "Шағын қалалардағы таза ауа 2026"},
                                  False),
                                 ("SG-2026-5", {"ru": "Водные ресурсы сёл 2026", "kk": "Ауылдардың су ресурстары 2026"},
                                  True)):  # fmt: skip
        with clock.travel(now - timedelta(days=50)):
            call = calls.create(
                manager, _call(code, now - timedelta(days=50), now - timedelta(days=20), title, ["water", "air"], [])
            )
            calls.publish(manager, call)
            for n, (lead, lead_org, partner, partner_org) in enumerate(teams):
                consortium = consortia.create(lead, name=f"Консорциум {lead_org.name} ({code})", lead_organization_id=lead_org.id,
                                              partner_organization_ids=[partner_org.id])  # fmt: skip
                consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
                app = applications.create(lead, call, consortium, _content(lead_org.id, partner_org.id,
                                                                           f"{title['ru']}: проект {n + 1}"))  # fmt: skip
                applications.submit(lead, app)
        call = db.session.get(Call, call.id)
        for n, app in enumerate(db.session.execute(db.select(Application).filter_by(call_id=call.id)
                                                   .order_by(Application.id)).scalars().all()):  # fmt: skip
            if not decided and n == 3:  # declared ineligible, its lead appeals within the window
                reviews.set_eligibility(manager, app, eligible=False, reason="Ведущая организация не приложила "
                                        "устав: по правилам конкурса он обязателен.")  # fmt: skip
                appeals.appeal(teams[3][0], app, "Устав был загружен в профиль организации 3 ноября; "
                               "прилагаем его повторно и просим пересмотреть решение.")  # fmt: skip
                continue
            reviews.set_eligibility(manager, app, eligible=True, reason="Проверено")
        reviews.auto_assign(manager, call)
        if decided:
            for assignment in reviews.assignments_of_call(call):
                points = 9 - (assignment.application_id % 3)
                reviews.declare(assignment.reviewer, assignment, conflict=False)
                reviews.save_review(assignment.reviewer, assignment,
                                    scores={"relevance": points, "feasibility": points - 1, "impact": points},
                                    comments={"relevance": "Актуально для региона.", "impact": "Показатели реалистичны."},
                                    overall_comment="Рекомендую с небольшими правками бюджета.", submit=True)  # fmt: skip
            reviews.decide(manager, call, apply_selection=True)
            _seed_awards(manager, call, {lead_org.id: lead for lead, lead_org, _p, _o in teams})


def _seed_awards(manager, call, leads: dict) -> None:
    """One award in each state: letter not issued; letter issued and first tranche paid; interim
    report submitted and waiting for the manager; completed (every report approved, every tranche
    paid). Project periods are moved into the past first, so no payment is dated in the future."""
    from datetime import timedelta

    from .awards import issuing, payments
    from .awards import services as awards

    today = awards.today()
    made = awards.create_from_decisions(manager, call)
    periods = [None, (30, -330), (200, -160), (400, 40)]  # (start, end) in days before today
    indicator = "Домохозяйства, сортирующие отходы"
    for award, period in zip(made, periods, strict=False):
        if period is None:
            continue  # the letter is not issued yet: the award can still be edited
        lead = leads[award.application.consortium.lead_organization_id]
        awards.update(manager, award, {"starts_on": (today - timedelta(days=period[0])).isoformat(),
                                       "ends_on": (today - timedelta(days=period[1])).isoformat()})  # fmt: skip
        issuing.issue_letter(manager, award)
        payments.mark_paid(manager, award, 1, min(award.starts_on, today))
        if period[0] < 200:
            continue
        awards.submit_report(lead, award, kind="interim", indicators={indicator: 120},
                             narrative="Обучено 40 волонтёров, открыто 3 пункта сбора из 5.")  # fmt: skip
        if period[0] < 400:
            continue  # waiting for the manager
        awards.review_report(manager, award, "interim", approve=True)
        payments.mark_paid(manager, award, 2, award.tranches[1].due_on)
        awards.submit_report(lead, award, kind="final", indicators={indicator: 310},
                             narrative="Пять сёл сортируют пластик и стекло; вывоз по договору с акиматом.")  # fmt: skip
        awards.review_report(manager, award, "final", approve=True)
        payments.mark_paid(manager, award, 3, today - timedelta(days=5))


def _evidence():
    import io

    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(b"%PDF-1.4\n% demo evidence\n%%EOF\n"), filename="ustav.pdf")


def _seed_channels(person) -> None:
    """aral@demo.kz has linked Telegram and verified her phone, and takes her alerts on all three
    channels; she also follows the calls. Her 30-day reminder of SG-2027-1 is claimed as the scan
    would claim it: the email goes to the outbox, and with no bot or gateway configured the
    Telegram and SMS rows show in /admin/notifications as not sent, with the reason."""
    from .alerts.registry import KINDS, claim
    from .calls.models import Call
    from .channels.models import ChannelChoice, PhoneNumber, TelegramLink
    from .core import clock
    from .subscriptions.models import Subscription

    now = clock.now()
    db.session.add(TelegramLink(user_id=person.id, chat_id=700000001, username="aral_demo", linked_at=now))
    db.session.add(PhoneNumber(user_id=person.id, phone="+77012345678", verified_at=now))
    for kind in KINDS:
        db.session.add(
            ChannelChoice(user_id=person.id, kind=kind, email=True, telegram=True, sms=kind != "announcement")
        )
    db.session.add(Subscription(email=person.email, language=person.locale, confirmed_at=now))
    db.session.commit()
    call = db.session.execute(db.select(Call).filter_by(code="SG-2027-1")).scalar_one()
    ids = claim("deadline", object_type="call", object_id=call.id, offset_days=30, due_at=call.closes_at,
                recipients={person.email: person.locale}, now=now)  # fmt: skip
    db.session.commit()
    from .core.tasks import enqueue

    for note_id in ids:  # through the worker, as the scan sends them (a failure waits for its retry)
        enqueue("grants.send_notification", note_id)


def _seed_questions(users) -> None:
    """SG-2027-1 has one answered question (on its page, in kk/ru/en) and one waiting for the
    manager on /manage/calls/<id>/questions."""
    from .calls.models import Call
    from .questions import services as questions

    call = db.session.execute(db.select(Call).filter_by(code="SG-2027-1")).scalar_one()
    manager = users["manager@demo.kz"]
    answered = questions.ask(users["zhasyl@demo.kz"], call,
                             "Бастамашыл топ консорциумға серіктес ретінде кіре ала ма?")  # fmt: skip
    questions.answer(manager, answered, {
        "kk": "Иә. Тіркелмеген бастамашыл топ серіктес бола алады, бірақ жетекші ұйым бола алмайды.",
        "ru": "Да. Незарегистрированная инициативная группа может быть партнёром, но не ведущей организацией.",
        "en": "Yes. An unregistered initiative group may be a partner, but never the lead organization.",
    }, "Может ли инициативная группа без регистрации войти в консорциум партнёром?")  # fmt: skip
    questions.ask(users["partner@demo.kz"], call,
                  "Можно ли включить в бюджет аренду лодки для мониторинга водоёмов?")  # fmt: skip


def _seed_clarification(manager) -> None:
    """lead1@demo.kz's application in SG-2026-3 (in review) has an open clarification request from
    the manager, answered with a letter (PDF): an addendum shown on the application page, to its
    reviewers beside the application and in its PDF."""
    import io
    from datetime import timedelta

    from werkzeug.datastructures import FileStorage

    from .calls.models import Call
    from .clarifications import services as clarifications
    from .consortia.rules import acts_for_lead
    from .core import clock

    lead = db.session.execute(db.select(User).filter_by(email="lead1@demo.kz")).scalar_one()
    call = db.session.execute(db.select(Call).filter_by(code="SG-2026-3")).scalar_one()
    apps = db.session.execute(db.select(Application).filter_by(call_id=call.id).order_by(Application.id)).scalars()
    app = next(a for a in apps if acts_for_lead(lead, a.consortium))
    item = clarifications.ask(manager, app, question="Приложите, пожалуйста, письмо поддержки акимата района "
                              "и поясните строку бюджета «Оборудование».", reply_by=clock.now() + timedelta(days=10))  # fmt: skip
    letter = FileStorage(io.BytesIO(b"%PDF-1.4\n% demo letter of support\n%%EOF\n"), filename="Әкімдік хаты.pdf")
    clarifications.reply(lead, item, text="Әкімдіктің қолдау хатын қоса береміз. «Жабдықтар» жолы: екі су сүзгісі "
                         "мен зертханалық жинақ, бағасы үш коммерциялық ұсыныс бойынша.", files=[letter])  # fmt: skip
