"""No page scrolls sideways on a 360 px phone, in Kazakh, Russian and English.

The demo round (grants/demo.py) plus the longest realistic strings: Kazakh organization names
of 80+ characters, a 60-letter word without a space, an email and a URL in a project title, a
long budget. Every key page is opened as the role that uses it and measured; the failures are
collected and reported at once, each with the elements that stick out of the viewport."""

import io
import threading

import pytest
from conftest import _base_config, browser_login

from grants.extensions import db

WIDTH = 360
LANGUAGES = ("kk", "ru", "en")
PASSWORD = "demo-grants-2026"  # grants.demo.PASSWORD, the same for the long-named additions

WORD = "Қоршағанортаныңэкологиялыққауіпсіздігінқамтамасызетужобасы2027"  # 60+ letters, no space
EMAIL = "ekologiyalyq.bastamalar.shygys.qazaqstan@ecology-initiatives-east-kazakhstan.kz"
URL = "https://ecology-initiatives-east-kazakhstan.kz/jobalar/2027/qorshaghan-orta/esep-beru.pdf"
ORG_LEAD = "«Шығыс Қазақстан облысының экологиялық бастамаларын қолдау орталығы» қоғамдық қоры"
ORG_PARTNER = "«Ертіс өзенінің жағалауын және орман алқаптарын қорғау жөніндегі жастар бастамасы» бастамашыл тобы"
PERSON = "Гүлназым Сұлтанмахмұтқызы Жақсылықова-Әбдірахманова"
CONSORTIUM = "«Шығыс Қазақстан экологиялық бастамалары» консорциумы: Ертіс, Алтай және Зайсан өңірлері"
TITLE = f"{WORD}: Шығыс Қазақстан облысының ауылдарында қалдықтарды сұрыптау ({EMAIL})"

# Measures the page; when it is wider than the screen, names what sticks out: the outermost
# elements past the right edge (their parent is not), and the elements whose text runs past it
# (a long word), leaving out what sits in a box that scrolls or clips on its own.
MEASURE = """() => {
  const doc = document.documentElement, W = doc.clientWidth;
  if (doc.scrollWidth <= W) return {width: doc.scrollWidth, lang: doc.lang};
  const clipped = el => { for (let p = el; p && p !== doc; p = p.parentElement)
    if (getComputedStyle(p).overflowX !== 'visible') return true; return false; };
  const past = el => el.getBoundingClientRect().right > W + 0.5;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const found = new Set();
  for (const el of document.body.querySelectorAll('*'))
    if (past(el) && !clipped(el.parentElement) && !(el.parentElement !== document.body && past(el.parentElement)))
      found.add(el);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!t.textContent.trim()) continue;
    range.selectNodeContents(t);
    if (range.getBoundingClientRect().right > W + 0.5 && !clipped(t.parentElement) && !past(t.parentElement))
      found.add(t.parentElement);
  }
  const out = [...found].slice(0, 4).map(el => {
    const path = []; for (let p = el; p && p !== document.body; p = p.parentElement) path.unshift(name(p));
    return path.slice(-4).join(' > ') + ' «' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40) + '»';
  });
  return {width: doc.scrollWidth, lang: doc.lang, offenders: out};
}"""


def _long_strings_scenario() -> dict:
    """Beside the demo round: a Kazakh-speaking lead with long names everywhere, a submitted
    application with a long budget and a draft; the demo teams' organizations get long names."""
    from werkzeug.datastructures import FileStorage

    from grants.accounts import services as accounts
    from grants.accounts.models import Role, User
    from grants.applications import services as applications
    from grants.applications.models import Application
    from grants.awards.models import Award
    from grants.calls.models import Call
    from grants.consortia import services as consortia
    from grants.consortia.models import Consortium
    from grants.organizations import services as organizations
    from grants.organizations.bin import complete_bin
    from grants.organizations.models import Organization
    from grants.reviews import services as reviews
    from grants.reviews.models import Assignment

    lead = accounts.create_user(email=EMAIL, password=PASSWORD, name=PERSON, roles={Role.APPLICANT}, verified=True,
                                locale="kk")  # fmt: skip
    partner = accounts.create_user(email="partner." + EMAIL, password=PASSWORD, name=PERSON, roles={Role.APPLICANT},
                                   verified=True, locale="kk")  # fmt: skip
    description = f"{WORD} {URL} {EMAIL} " + "Шығыс Қазақстан облысындағы экологиялық бастамалар. " * 10
    lead_org = organizations.create(lead, {
        "name": ORG_LEAD, "bin": complete_bin("21034000999"), "legal_form": "public_fund", "region": "east_kazakhstan",
        "settlement": "rural", "settlement_name": "Қатонқарағай ауданы, Үлкен Нарын ауылы", "description": description,
        "staff_full_time": 3, "volunteers": 120, "head_gender": "female", "head_birth_year": 1986, "board_total": 7,
        "board_women": 4, "board_youth": 2, "public_profile": True,
    })  # fmt: skip
    partner_org = organizations.create(partner, {
        "name": ORG_PARTNER, "legal_form": "initiative_group", "region": "east_kazakhstan", "settlement": "rural",
        "description": description, "public_profile": True,
    })  # fmt: skip
    consortium = consortia.create(lead, name=CONSORTIUM, lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner, consortium, organization_id=partner_org.id, accept=True)
    line = {"description": f"{WORD} — экологиялық білім беру тренингтеріне арналған материалдар {URL}",
            "quantity": "12", "unit_cost": 31_250}  # fmt: skip
    content = {
        "title": TITLE, "language": "kk", "requested_amount": 4_500_000,
        "summary": f"{WORD} {URL} " + "Бес ауылда қалдықтарды бөлек жинау және еріктілерді оқыту. " * 8,
        "problem": f"{WORD} " + "Тұрмыстық қалдықтар аулаларда өртеледі; жақын полигон 60 км жерде. " * 6,
        "objectives": f"{EMAIL} " + "10-айға қарай 5 ауыл пластик пен шыны сұрыптайды. " * 4,
        "activities": f"{URL} " + "Еріктілерді оқыту; жинау пункттері; әкімдікпен келісімшарт. " * 4,
        "workplan": [{"activity": f"{WORD} еріктілерді оқыту және ауыл тұрғындарымен кездесулер", "start_month": m,
                      "end_month": m + 2} for m in range(1, 6)],
        "budget_lines": [line | {"category": category, "organization_id": org}
                         for category in ("staff", "travel", "equipment", "supplies", "services", "events")
                         for org in (lead_org.id, partner_org.id)],
        "indicators": [{"name": f"{WORD} қалдықтарды сұрыптайтын үй шаруашылықтары", "unit": "үй шаруашылықтары",
                        "baseline": "0", "target": "1250.5"}] * 3,
        "partner_roles": {str(partner_org.id): f"{WORD} жастармен жұмыс, еріктілерді оқыту; {URL}"},
        "declarations": {"truthful": True, "no_double_funding": True, "consent": True},
    }  # fmt: skip
    content["requested_amount"] = sum(31_250 * 12 for _ in content["budget_lines"])
    open_call = db.session.execute(db.select(Call).filter_by(code="SG-2027-1")).scalar_one()
    upcoming = db.session.execute(db.select(Call).filter_by(code="SG-2027-2")).scalar_one()
    submitted = applications.create(lead, open_call, consortium, content)
    pdf = b"%PDF-1.4\n% phone layout test\n%%EOF\n"
    name = f"Жарғы_{WORD}_Шығыс_Қазақстан_облысының_экологиялық_орталығы.pdf"
    applications.add_attachment(lead, submitted, FileStorage(io.BytesIO(pdf), filename=name), "charter")
    applications.submit(lead, submitted)
    draft = applications.create(lead, upcoming, consortium, content)
    applications.add_attachment(lead, draft, FileStorage(io.BytesIO(pdf), filename=name), "charter")
    db.session.commit()

    # The demo teams (awards, reviews, results) get long Kazakh names as well.
    for n, org in enumerate(
        db.session.execute(db.select(Organization).where(Organization.name.like("ОФ «%"))).scalars()
    ):
        org.name = f"«{org.name[4:-1]} — {WORD[: 20 + n]}» экологиялық бастамаларды қолдау қоғамдық қоры"
    for c in db.session.execute(db.select(Consortium).where(Consortium.name.like("Консорциум ОФ%"))).scalars():
        c.name = f"{c.name} — {WORD}"
    db.session.commit()

    decided = db.session.execute(db.select(Call).filter_by(code="SG-2026-5")).scalar_one()
    in_review = db.session.execute(db.select(Call).filter_by(code="SG-2026-3")).scalar_one()
    reviewer = db.session.execute(db.select(User).filter_by(email="reviewer@demo.kz")).scalar_one()
    mine = db.session.execute(
        db.select(Assignment).join(Application).where(Application.call_id == in_review.id,
                                                      Assignment.reviewer_id == reviewer.id).order_by(Assignment.id)
    ).scalars().all()  # fmt: skip
    reviews.declare(reviewer, mine[0], conflict=False)  # the review form; mine[1] stays at the declaration
    db.session.commit()
    awards = db.session.execute(db.select(Award).order_by(Award.id)).scalars().all()
    lead1_app = awards[1].application
    return {
        "open": open_call.id, "upcoming": upcoming.id, "decided": decided.id, "in_review": in_review.id,
        "draft_call": db.session.execute(db.select(Call).filter_by(code="SG-2027-3")).scalar_one().id,
        "lead_org": lead_org.id, "partner_org": partner_org.id, "consortium": consortium.id,
        "submitted": submitted.id, "draft": draft.id, "declared": mine[0].id, "pending": mine[1].id,
        "award_pending": awards[0].id, "award_active": awards[1].id, "award_report": awards[2].id,
        "lead1_app": lead1_app.id, "verify": awards[1].letter.verification_code,
    }  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_database):
    """The demo plus the long strings, on SQLite (what `make run` uses), served over real HTTP."""
    from werkzeug.serving import make_server

    from grants import create_app

    folder = tmp_path_factory.mktemp("phone-layout")
    app = create_app(_base_config(demo_database("sqlite", folder), folder))
    with app.app_context():
        ids = _long_strings_scenario()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


SECTIONS = ("summary", "problem", "workplan", "budget", "indicators", "partners", "attachments", "declarations")


def pages_by_login(i: dict) -> list[tuple[str | None, list[str]]]:
    """(login, the pages that login uses); None is a signed-out visitor."""
    calls = [f"/manage/calls/{i[k]}" for k in ("open", "draft_call", "decided")]
    return [
        (None, ["/", "/calls", f"/calls/{i['open']}", f"/calls/{i['upcoming']}", f"/calls/{i['decided']}",
                f"/calls/{i['decided']}/results", f"/verify/{i['verify']}", "/login", "/register", "/subscribe",
                "/directory", "/password/forgot"]),
        (EMAIL, ["/home", "/account", "/organizations", f"/organizations/{i['lead_org']}",
                 f"/organizations/{i['lead_org']}/edit", "/organizations/new",
                 "/directory?q=Шығыс", "/consortia", "/consortia/new", f"/consortia/{i['consortium']}",
                 "/applications", f"/applications/{i['draft']}", f"/applications/{i['submitted']}",
                 f"/applications/{i['submitted']}/access-log", f"/applications/{i['draft']}/check",
                 f"/calls/{i['open']}/apply", f"/calls/{i['open']}/offline-draft", "/offline"]
                + [f"/applications/{i['draft']}/edit/{s}" for s in SECTIONS]),
        ("lead1@demo.kz", ["/home", "/awards", f"/awards/{i['award_active']}", f"/applications/{i['lead1_app']}",
                           f"/applications/{i['lead1_app']}/result"]),
        ("reviewer@demo.kz", ["/home", "/reviews", f"/reviews/{i['pending']}", f"/reviews/{i['declared']}", "/reviewer/profile"]),
        ("manager@demo.kz", ["/home", "/manage/calls", "/manage/calls/new", *calls, f"/manage/calls/{i['open']}/help",
                             f"/manage/calls/{i['in_review']}/review", f"/manage/calls/{i['decided']}/review",
                             f"/manage/calls/{i['in_review']}/ranking", f"/manage/calls/{i['decided']}/ranking",
                             f"/manage/calls/{i['decided']}/awards", f"/manage/calls/{i['decided']}/appeals",
                             f"/awards/{i['award_pending']}", f"/awards/{i['award_report']}",
                             f"/applications/{i['lead1_app']}", "/manage/organizations",
                             f"/manage/organizations/{i['lead_org']}/verify", "/manage/audit", "/manage/reviewers",
                             "/manage/themes"]),
        ("admin@demo.kz", ["/admin/notifications", "/admin/outbox"]),
    ]  # fmt: skip


def test_no_page_scrolls_sideways_at_360_px(browser, site):
    """One browser context per login, through the three languages (the language link also sets
    a signed-in user's own setting); every failure is collected, then reported at once."""
    base, ids = site
    failures: list[str] = []
    checked = 0
    context = browser.new_context()
    icon = context.request.get(base + "/favicon.ico")  # asked for by every browser: not a 404
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon", icon.status
    context.close()
    for email, paths in pages_by_login(ids):
        context = browser.new_context(viewport={"width": WIDTH, "height": 740}, service_workers="block")
        page = browser_login(context, base, email, PASSWORD) if email else context.new_page()
        for language in LANGUAGES:
            page.goto(f"{base}/language/{language}?next=/")
            for path in paths:
                response = page.goto(base + path)
                if response.status >= 400:
                    failures.append(f"{language} {email or 'visitor'} {path}: HTTP {response.status}")
                    continue
                found = page.evaluate(MEASURE)
                checked += 1
                assert found["lang"] == language, (language, email, path)
                if found["width"] > WIDTH:
                    failures.append(f"{language} {email or 'visitor'} {path}: {found['width']} px wide — "
                                    + "; ".join(found["offenders"]))  # fmt: skip
        context.close()
    assert checked > 150, checked  # every page was really measured
    assert not failures, f"{len(failures)} of {checked} pages are wider than {WIDTH} px:\n" + "\n".join(failures)
