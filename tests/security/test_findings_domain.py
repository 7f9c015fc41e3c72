"""Issue 14 ("Security"), the findings in the grant domain's own rules: invitation emails that
could be sent without end with a subject the owner wrote, names shown on a blind call's
declaration step, private organizations named on the consortium form, sealed applications listed
and opened without a logged reason (or by a link), and partners that declined keeping access.
Each test replays the reported attack; it passed before the fix, and is refused now."""

from datetime import timedelta

import pytest
from applications.conftest import ready, world  # noqa: F401  (fixtures)
from conftest import PASSWORD, api_login, csrf_token, login, post_form, read_outbox
from parallel import api_token, fire
from reviews.conftest import stage  # noqa: F401  (fixture)

from grants.applications import services as applications
from grants.applications.models import AccessLogEntry
from grants.consortia import services as consortia
from grants.consortia.models import Consortium, ConsortiumMember
from grants.extensions import db
from grants.organizations import services as organizations
from grants.organizations.bin import complete_bin
from grants.organizations.models import Invitation

# The production database only (SQLite serves `make run`): each refusal is shown where it matters.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)

URGENT = "URGENT: your grant is suspended, call +7 700 000 0000"


def bearer(client, email: str, lang: str = "en") -> dict:
    got = api_login(client, email, PASSWORD).json["token"]
    return {"Authorization": f"Bearer {got}", "Accept-Language": lang}


def invite(client, org_id: int, email: str, headers: dict):
    return client.post(f"/api/v1/organizations/{org_id}/members", json={"email": email, "role": "editor"},
                       headers=headers)  # fmt: skip


def access_entries(app_id: int) -> list:
    db.session.expire_all()
    return list(db.session.execute(db.select(AccessLogEntry).filter_by(application_id=app_id)
                                   .order_by(AccessLogEntry.id)).scalars())  # fmt: skip


# --- 1. invitation emails --------------------------------------------------------------------


def test_the_invitation_subject_never_carries_what_the_owner_typed(app, frozen, users, organization, client):
    """ASVS 5.0 V2.4.1 (the platform's mail is no relay for an owner's text): the owner renames the
    organization to a phishing line and invites someone; the subject is the programme's own words
    in the invitee's language, and the owner's text stays in the body only."""
    owner = users("owner@example.kz", locale="ru")
    org = organization(owner, name="Эко Дала")
    organizations.update(owner, org, {**organizations.snapshot(org), "name": URGENT})
    headers = bearer(client, "owner@example.kz")
    assert invite(client, org.id, "victim@evil.example", headers).status_code == 201
    users("known@example.kz", locale="kk")
    assert invite(client, org.id, "known@example.kz", headers).status_code == 201
    sent = {m["To"]: m for m in read_outbox(app)}
    assert sent["victim@evil.example"]["Subject"] == "Приглашение в организацию в программе малых грантов"
    assert sent["known@example.kz"]["Subject"] == "Шағын гранттар бағдарламасында ұйымға қосылуға шақыру"
    assert all("URGENT" not in m["Subject"] for m in sent.values())


def test_invitations_are_capped_per_organization_per_address_and_per_day(app, frozen, users, organization, client):
    """ASVS 5.0 V2.4.1 (anti-automation): the reported 40 invitations to strangers and 15 to one
    address in seconds. Now an organization sends 20 a day, a pending address is emailed again only
    the next day, and each refusal is a 429 with a message in the owner's language."""
    owner = users("owner@example.kz", locale="kk")
    org = organization(owner)
    kk = bearer(client, "owner@example.kz", "kk")
    answers = [invite(client, org.id, f"victim{i}@evil.example", kk).status_code for i in range(21)]
    assert answers == [201] * 20 + [429]
    refused = invite(client, org.id, "one-more@evil.example", kk)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    assert refused.json["error"]["message"] == (
        "Бұл ұйым бір күнде жіберуге болатын шақырулардың барлығын жіберді. Ертең қайталап көріңіз."
    )
    frozen.to(frozen.moment + timedelta(days=1, minutes=1))
    assert invite(client, org.id, "victim0@evil.example", kk).status_code == 201  # a day later: sent again
    again = invite(client, org.id, "victim0@evil.example", kk)
    assert again.status_code == 429
    assert again.json["error"]["message"].startswith("Бүгін шақыру жіберілді, мекенжайы: victim0@evil.example.")
    assert len([m for m in read_outbox(app) if m["To"] == "victim0@evil.example"]) == 2
    assert len(read_outbox(app)) == 21
    # The web form says the same (the owner reads Kazakh), and sends nothing.
    second = organization(owner, name="Екінші ұйым", bin=complete_bin("21054000888"))
    organizations.invite(owner, second, email="victim0@evil.example", role="editor")
    login(client, "owner@example.kz")
    page = post_form(client, f"/organizations/{second.id}/members", {"email": "victim0@evil.example", "role": "editor"},
                     form_url=f"/organizations/{second.id}", follow_redirects=True)  # fmt: skip
    assert "Бүгін шақыру жіберілді, мекенжайы: victim0@evil.example." in page.get_data(as_text=True)
    assert len(read_outbox(app)) == 22


def test_one_address_waits_for_a_few_organizations_and_one_sender_for_forty_a_day(app, frozen, users, organization,
                                                                                 client):  # fmt: skip
    """ASVS 5.0 V2.4.1: new initiative groups (no BIN, cheap to create) do not lift the caps: a
    person sends 40 invitations a day across organizations, and an address is waited for by at
    most 3 organizations at once (Russian message on the API)."""
    owner = users("owner@example.kz", locale="ru")
    groups = [organization(owner, name=f"Топ {n}", legal_form="initiative_group", bin="") for n in range(4)]
    ru = bearer(client, "owner@example.kz", "ru")
    for group in groups[:3]:
        assert invite(client, group.id, "target@evil.example", ru).status_code == 201
    fourth = invite(client, groups[3].id, "target@evil.example", ru)
    assert fourth.status_code == 429
    assert fourth.json["error"]["message"] == (
        "На адрес target@evil.example уже ждут ответа несколько приглашений. Попросите человека сначала "
        "ответить на них или попробуйте позже."
    )
    for n in range(37):  # 3 sent above: 40 in all, spread over two organizations
        group = groups[n % 2]
        organizations.invite(owner, group, email=f"spread{n}@evil.example", role="editor")
    over = invite(client, groups[3].id, "fresh@evil.example", ru)
    assert over.status_code == 429 and over.json["error"]["message"] == (
        "Вы уже отправили столько приглашений, сколько можно за один день. Попробуйте завтра."
    )
    assert db.session.execute(db.select(db.func.count(Invitation.id))).scalar() == 40


def test_a_consortium_names_at_most_twenty_partners_on_the_page_too(app, frozen, users, organization, client):
    """ASVS 5.0 V2.4.1 (found by review): only the API schema capped partners, so the page could
    email the owners of every public organization at once. Now the service refuses a 21st partner
    (the page says so in Russian and nothing is created), and odd ids ("²", 20 digits) are no ids."""
    from grants.core.errors import ValidationFailed

    lead = users("lead@example.kz", locale="ru")
    lead_org = organization(lead, name="Арал ҮЕҰ")
    others = [organization(users(f"p{n}@example.kz"), name=f"Серіктес {n}", bin=complete_bin(f"2105400{n:04d}"))
              for n in [*range(19), 20, 21]]  # (21054000019 has no check digit)  # fmt: skip
    with pytest.raises(ValidationFailed):
        consortia.create(lead, name="Үлкен", lead_organization_id=lead_org.id,
                         partner_organization_ids=[o.id for o in others])  # fmt: skip
    db.session.rollback()
    login(client, "lead@example.kz")
    bins = [o.bin for o in others]
    form = {"name": "Үлкен", "lead": str(lead_org.id), "bins": [" ".join(bins[:20]), bins[20]], "partner": ["²"],
            "action": "create"}  # fmt: skip
    page = post_form(client, "/consortia/new", form, headers={"Accept-Language": "ru"})
    assert page.status_code == 422 and "Наибольшее число партнёров в консорциуме: 20" in page.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count(Consortium.id))).scalar() == 0
    odd = post_form(client, "/consortia/new", form | {"partner": ["²", "9" * 20]}, headers={"Accept-Language": "ru"})
    assert odd.status_code < 500


def test_consortia_email_partners_in_the_programmes_words_and_at_most_ten_a_day(app, frozen, users, organization,
                                                                             client):  # fmt: skip
    """ASVS 5.0 V2.4.1: forming a consortium emails the partners' owners; the subject named the
    lead as its owner wrote it, and nothing capped it. Now the subject is fixed and a person forms
    at most 10 consortia a day (429, Russian message)."""
    lead = users("lead@example.kz", locale="ru")
    lead_org = organization(lead, name=URGENT)
    partner = organization(users("partner@example.kz", locale="ru"), name="Жас Дала", bin=complete_bin("21054000888"))
    headers = bearer(client, "lead@example.kz", "ru")
    body = {"name": "Консорциум", "lead_organization_id": lead_org.id, "partner_organization_ids": [partner.id]}
    answers = [client.post("/api/v1/consortia", json=body, headers=headers) for _n in range(11)]
    assert [a.status_code for a in answers] == [201] * 10 + [429]
    assert answers[-1].json["error"]["message"] == (
        "Вы уже создали столько консорциумов, сколько можно за один день. Попробуйте завтра."
    )
    subjects = {m["Subject"] for m in read_outbox(app) if m["To"] == "partner@example.kz"}
    assert subjects == {"Приглашение в консорциум в программе малых грантов"}


def test_parallel_invitations_do_not_pass_the_caps(app, frozen, users, organization, live_server):
    """ASVS 5.0 V2.4.1 and V15.4.2 (check and write under one lock): 8 invitations at once to an
    organization with 17 sent today give 3 × 201 and 5 × 429; 6 at once to one new address, 1 × 201."""
    owner = users("owner@example.kz", locale="en")
    org = organization(owner)
    for n in range(17):
        organizations.invite(owner, org, email=f"earlier{n}@example.kz", role="editor")
    second = organization(owner, name="Second", bin=complete_bin("21054000888"))
    base = live_server(app)
    token = api_token(app, owner)
    path = f"/api/v1/organizations/{org.id}/members"
    results = fire(base, [("POST", path, token, {"email": f"new{n}@example.kz", "role": "editor"}) for n in range(8)])
    assert sorted(r.status for r in results) == [201] * 3 + [429] * 5, [(r.status, r.body) for r in results]
    same = fire(base, [("POST", f"/api/v1/organizations/{second.id}/members", token,
                        {"email": "same@example.kz", "role": "editor"})] * 6)  # fmt: skip
    assert sorted(r.status for r in same) == [201] + [429] * 5
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count(Invitation.id)).filter_by(organization_id=org.id)).scalar() == 20
    assert len([m for m in read_outbox(app) if m["To"] == "same@example.kz"]) == 1


# --- 2. blind review: the declaration step ---------------------------------------------------


def test_the_declaration_step_of_a_blind_call_names_no_organization(app, stage, client):  # noqa: F811
    """ASVS 5.0 V8.2.3 (field-level access): on a blind call the reviewer saw "Lead 1, Partner 1"
    (the consortium's real names) before declaring. Now the page shows the neutral labels the
    review page uses, in Russian and Kazakh."""
    from grants.reviews import services as reviews
    from grants.reviews.models import Assignment

    assert stage.call.blind_review
    for application in stage.apps:
        reviews.set_eligibility(stage.manager, application, eligible=True, reason="")
    reviews.auto_assign(stage.manager, stage.call)
    assignment = db.session.execute(db.select(Assignment).order_by(Assignment.id)).scalars().first()
    reviewer = assignment.reviewer
    members = [m.organization.name for m in assignment.application.consortium.members]
    login(client, reviewer.email)
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "Конфликт интересов" in page and "Ведущая организация" in page and "Партнёр 1" in page
    assert not [name for name in members if name in page]
    reviewer.locale = "kk"
    db.session.commit()
    page = client.get(f"/reviews/{assignment.id}").get_data(as_text=True)
    assert "Жетекші ұйым" in page and "1-серіктес" in page
    assert not [name for name in members if name in page]


# --- 3. the consortium form names only organizations the user may see ------------------------


def test_the_consortium_form_does_not_name_a_private_organization_by_its_id(app, frozen, users, organization, client):
    """ASVS 5.0 V8.2.2 (data-specific access): `/consortia/new?partner=N` named any organization.
    Now an id outside the directory (and not the user's own) is ignored; one added by its BIN is
    shown by that BIN only, also on the consortium page until it confirms."""
    lead = users("lead@example.kz", locale="ru")
    lead_org = organization(lead, name="Арал ҮЕҰ")
    hidden_owner = users("hidden@example.kz", locale="ru")
    hidden = organization(hidden_owner, name="Каспий жасырын", bin=complete_bin("21054000888"), region="mangystau")
    public = organization(users("open@example.kz"), name="Жасыл Әлем", bin=complete_bin("22054000999"),
                          public_profile=True)  # fmt: skip
    login(client, "lead@example.kz")
    page = client.get(f"/consortia/new?partner={hidden.id}&partner={public.id}&partner={lead_org.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Жасыл Әлем" in html and "Арал ҮЕҰ" in html
    assert "Каспий жасырын" not in html and "<small>Мангистауская область</small>" not in html
    assert f'name="partner" value="{hidden.id}"' not in html
    by_bin = client.get(f"/consortia/new?bins={hidden.bin}").get_data(as_text=True)
    assert f"Организация с БИН {hidden.bin}" in by_bin and "Каспий жасырын" not in by_bin
    made = post_form(client, "/consortia/new", {"name": "Арал", "lead": str(lead_org.id), "bins": hidden.bin,
                                                "action": "create"}, form_url="/consortia/new")  # fmt: skip
    assert made.status_code == 302
    shown = client.get(made.headers["Location"]).get_data(as_text=True)
    assert f"Организация с БИН {hidden.bin}" in shown and "Каспий жасырын" not in shown
    partner_page = app.test_client()
    login(partner_page, "hidden@example.kz")
    assert "Каспий жасырын" in partner_page.get(made.headers["Location"]).get_data(as_text=True)  # its own
    consortium_id = int(made.headers["Location"].rsplit("/", 1)[1])
    consortia.respond(hidden_owner, db.session.get(Consortium, consortium_id), organization_id=hidden.id, accept=True)
    assert "Каспий жасырын" in client.get(made.headers["Location"]).get_data(as_text=True)  # confirmed: named


# --- 4. sealed applications ------------------------------------------------------------------


def test_a_sealed_application_is_listed_to_managers_without_title_consortium_or_receipt(ready, frozen, client):  # noqa: F811
    """ASVS 5.0 V8.2.3 (field-level access): a manager listed title and consortium of a sealed
    application (API list, review stage of an open call) with no reason and no log entry. Now they
    are withheld until the manager opens it with a reason, which the applicant reads in the log."""
    submission = applications.submit(ready.lead_user, ready.app)
    manager = bearer(client, "manager@example.kz")
    listed = client.get(f"/api/v1/applications?call_id={ready.call.id}", headers=manager).json["items"]
    assert listed == [{"id": ready.app.id, "call_id": ready.call.id, "status": "submitted", "sealed": True,
                       "consortium_id": None, "title": None}]  # fmt: skip
    lead = client.get(f"/api/v1/applications?call_id={ready.call.id}", headers=bearer(client, "lead@example.kz"))
    assert lead.json["items"][0]["title"] == "Таза Арал" and lead.json["items"][0]["sealed"] is False
    login(client, "manager@example.kz")
    stage_page = client.get(f"/manage/calls/{ready.call.id}/review").get_data(as_text=True)
    assert "Арал консорциумы" not in stage_page and submission.receipt_number not in stage_page
    assert "Заявка запечатана" in stage_page and "Запечатана до закрытия конкурса." in stage_page
    assert access_entries(ready.app.id) == []
    opened = client.get(f"/api/v1/applications/{ready.app.id}", headers=manager | {"X-Access-Reason": "Жалоба"})
    assert opened.status_code == 200
    listed = client.get(f"/api/v1/applications?call_id={ready.call.id}", headers=manager).json["items"]
    assert listed[0]["title"] == "Таза Арал" and listed[0]["sealed"] is False
    stage_page = client.get(f"/manage/calls/{ready.call.id}/review").get_data(as_text=True)
    assert "Арал консорциумы" in stage_page and submission.receipt_number in stage_page
    [entry] = access_entries(ready.app.id)
    assert entry.sealed_reason == "Жалоба" and entry.viewer_role == "manager"


def test_a_link_cannot_open_a_sealed_application_only_a_posted_reason_can(app, ready, frozen, client):  # noqa: F811
    """ASVS 5.0 V3.5.3 (no state change by GET) and V8.2.3: `/applications/1?reason=x` opened the
    sealed application and logged an attacker-written reason as the manager's. Now GET (page, PDF,
    attachment) shows the form; a POST without the CSRF token is refused; a posted reason opens it
    and the lead reads it (Kazakh) in the access log."""
    applications.submit(ready.lead_user, ready.app)
    login(client, "manager@example.kz")
    for url in (f"/applications/{ready.app.id}?reason=x", f"/applications/{ready.app.id}/application.pdf?reason=x"):
        refused = client.get(url)
        assert refused.status_code == 200 and 'name="reason"' in refused.get_data(as_text=True)
        assert "Таза Арал" not in refused.get_data(as_text=True)
    assert client.post(f"/applications/{ready.app.id}", data={"reason": "x"}).status_code == 400  # no CSRF token
    assert access_entries(ready.app.id) == []
    opened = post_form(client, f"/applications/{ready.app.id}", {"reason": "Проверка жалобы"},
                       form_url=f"/applications/{ready.app.id}")  # fmt: skip
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and "Таза Арал" in html
    assert f'action="/applications/{ready.app.id}/application.pdf"' in html  # the download posts the reason too
    pdf = client.post(f"/applications/{ready.app.id}/application.pdf",
                      data={"reason": "Проверка жалобы", "csrf_token": csrf_token(client, "/account")})  # fmt: skip
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert [e.action for e in access_entries(ready.app.id)] == ["view", "pdf"]
    lead = app.test_client()
    login(lead, "lead@example.kz")
    log = lead.get(f"/applications/{ready.app.id}/access-log").get_data(as_text=True)
    assert log.count("Проверка жалобы") == 2


# --- 5. partners that declined ---------------------------------------------------------------


def test_a_partner_that_declined_loses_access_to_the_application(app, ready, frozen, client):  # noqa: F811
    """ASVS 5.0 V8.2.2: a declined partner kept full edit access to the lead's application (web
    and API). Now, having declined, it gets 404 like any outsider and no longer lists it."""
    app_id = ready.app.id
    headers = bearer(client, "partner@example.kz")
    assert client.get(f"/api/v1/applications/{app_id}", headers=headers).status_code == 200
    consortia.respond(ready.partner_user, ready.consortium, organization_id=ready.partner_org.id, accept=False)
    assert client.get(f"/api/v1/applications/{app_id}", headers=headers).status_code == 404
    patched = client.patch(f"/api/v1/applications/{app_id}", json={"summary": "Басып алынды"}, headers=headers)
    assert patched.status_code == 404
    assert client.get("/api/v1/applications", headers=headers).json["total"] == 0
    login(client, "partner@example.kz")
    assert client.get(f"/applications/{app_id}").status_code == 404
    assert client.get(f"/applications/{app_id}/edit/summary").status_code == 404
    assert "Таза Арал" not in client.get("/applications").get_data(as_text=True)
    # It may change its mind before submission: confirming again gives the access back.
    consortia.respond(ready.partner_user, ready.consortium, organization_id=ready.partner_org.id, accept=True)
    assert client.get(f"/applications/{app_id}").status_code == 200


def test_a_partner_cannot_decline_after_submission(app, ready, frozen, client):  # noqa: F811
    """ASVS 5.0 V2.3.1 (business steps in order): a partner declined after submission, leaving a
    submitted application that fails "all partners confirmed". Now the API answers 409 (English),
    the web page refuses in Russian; once the lead withdraws, the
    partner may decline again."""
    applications.submit(ready.lead_user, ready.app)
    path = f"/api/v1/consortia/{ready.consortium.id}/confirm"
    refused = client.post(path, json={"organization_id": ready.partner_org.id, "decline": True},
                          headers=bearer(client, "partner@example.kz"))  # fmt: skip
    assert refused.status_code == 409 and refused.json["error"]["code"] == "application_submitted"
    assert refused.json["error"]["message"].startswith("The consortium has a submitted application")
    login(client, "partner@example.kz")
    answer = post_form(client, f"/consortia/{ready.consortium.id}/respond",
                       {"organization_id": str(ready.partner_org.id), "answer": "decline"},
                       form_url=f"/consortia/{ready.consortium.id}", follow_redirects=True)  # fmt: skip
    assert "У консорциума есть поданная заявка, поэтому партнёры больше не могут отказаться." in answer.get_data(
        as_text=True
    )
    db.session.expire_all()
    member = db.session.execute(
        db.select(ConsortiumMember).filter_by(organization_id=ready.partner_org.id)
    ).scalar_one()
    assert member.confirmed and member.declined_at is None
    assert client.get(f"/applications/{ready.app.id}").status_code == 200
    applications.withdraw(ready.lead_user, ready.app)
    declined = client.post(path, json={"organization_id": ready.partner_org.id, "decline": True},
                           headers=bearer(client, "partner@example.kz"))  # fmt: skip
    assert declined.status_code == 200


def test_a_decline_racing_the_submission_leaves_no_submitted_application_without_its_partner(app, ready, live_server):  # noqa: F811
    """ASVS 5.0 V15.4.2: "submit" and "decline" sent at once: either the submission wins and the
    decline is refused (409), or the decline wins and the submission is refused (422)."""
    base = live_server(app)
    lead, partner = api_token(app, ready.lead_user), api_token(app, ready.partner_user)
    decline = ("POST", f"/api/v1/consortia/{ready.consortium.id}/confirm", partner,
               {"organization_id": ready.partner_org.id, "decline": True})  # fmt: skip
    submit, declined = fire(base, [("POST", f"/api/v1/applications/{ready.app.id}/submit", lead, None), decline])
    assert sorted([submit.status, declined.status]) in ([200, 409], [200, 422]), (submit.body, declined.body)
    db.session.rollback()
    member = db.session.execute(
        db.select(ConsortiumMember).filter_by(organization_id=ready.partner_org.id)
    ).scalar_one()
    assert (submit.status == 200) == (member.declined_at is None)
