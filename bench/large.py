"""The large round for `make bench`: 5,000 organizations, 2,000 submitted applications across
300 consortia, 300 reviewers with 6,000 reviews, 20 awards and 20,000 subscribers, generated
deterministically with bulk inserts; pages timed under real gunicorn (the production settings,
see serve.py) on loopback, SQL statements per page at 10 % and 100 % of the data, page bytes.
The deadline rush is rush.py."""

from __future__ import annotations

import gzip
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from serve import Client, database, gunicorn, percentile, private_redis

NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "bench-password-2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the bench managers' authenticator


def _bin(i: int) -> str | None:
    from grants.organizations.bin import check_digit

    first = f"{10_000_000_000 + i * 7:011d}"[-11:]
    digit = check_digit(first)
    return None if digit is None else first + str(digit)


def seed(db, *, share: float, tag: str, password_hash: str) -> dict:
    """One round at `share` of the full size; returns ids for the pages to time."""
    from grants.accounts.models import User
    from grants.applications.models import Application, BudgetLine, Indicator, Submission, WorkplanItem
    from grants.awards.models import Award, Tranche
    from grants.calls.models import Call, Criterion
    from grants.consortia.models import Consortium, ConsortiumMember
    from grants.organizations.models import Membership, Organization
    from grants.reviews.models import Assignment, Decision, Review
    from grants.subscriptions.models import Subscription

    n_orgs, n_consortia, n_apps = int(5000 * share), max(int(300 * share), 5), int(2000 * share)
    n_reviewers, n_subscribers = max(int(300 * share), 3), int(20000 * share)
    call = Call(code=f"{tag}-1", title_ru=f"Бенчмарк {tag}", title_kk=f"Бенчмарк {tag}", envelope=100_000_000,
                min_amount=1_000_000, max_amount=10_000_000, opens_at=NOW - timedelta(days=60),
                closes_at=NOW - timedelta(days=10), status="in_review", published_at=NOW - timedelta(days=60),
                alert_offsets_days=[30, 14, 7, 3, 1])  # fmt: skip
    call.criteria = [Criterion(key="a", title_ru="A", weight=30, max_score=10),
                     Criterion(key="b", title_ru="B", weight=40, max_score=10),
                     Criterion(key="c", title_ru="C", weight=30, max_score=5)]  # fmt: skip
    db.session.add(call)
    db.session.flush()
    users = [{"email": f"{tag.lower()}-u{i}@bench.kz", "name": f"User {i}", "password_hash": password_hash, "locale": "ru",
              "roles_text": "applicant", "email_verified_at": NOW, "created_at": NOW} for i in range(n_orgs)]  # fmt: skip
    users += [{"email": f"{tag.lower()}-r{i}@bench.kz", "name": f"Reviewer {i}", "password_hash": password_hash, "locale": "kk",
               "roles_text": "reviewer", "email_verified_at": NOW, "created_at": NOW} for i in range(n_reviewers)]  # fmt: skip
    users.append({"email": f"{tag.lower()}-manager@bench.kz", "name": "Manager", "password_hash": password_hash, "locale": "ru",
                  "roles_text": "manager", "email_verified_at": NOW, "created_at": NOW})  # fmt: skip
    db.session.execute(sa.insert(User), users)
    uid = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.like(f"{tag.lower()}-%"))).all())
    regions = ["almaty", "kyzylorda", "abai", "mangystau", "turkistan", "pavlodar", "astana"]
    db.session.execute(sa.insert(Organization), [
        {"name": f"{tag} NGO {i}", "bin": _bin(i + (0 if tag == "F" else 900_000)), "legal_form": "public_fund",
         "region": regions[i % 7], "settlement": "rural" if i % 3 else "urban", "women_led": i % 5 == 0,
         "women_led_verified": i % 5 == 0, "public_profile": i % 2 == 0, "created_at": NOW, "updated_at": NOW}
        for i in range(n_orgs) if _bin(i + (0 if tag == "F" else 900_000))])  # fmt: skip
    oid = dict(
        db.session.execute(
            sa.select(Organization.name, Organization.id).where(Organization.name.like(f"{tag} NGO %"))
        ).all()
    )
    names = sorted(oid, key=lambda n: int(n.rsplit(" ", 1)[1]))
    db.session.execute(sa.insert(Membership), [
        {"user_id": uid[f"{tag.lower()}-u{int(n.rsplit(' ', 1)[1])}@bench.kz"], "organization_id": oid[n], "role": "owner",
         "created_at": NOW} for n in names])  # fmt: skip
    db.session.execute(
        sa.insert(Consortium),
        [
            {"name": f"{tag} C{i}", "lead_organization_id": oid[names[i * 3]], "created_at": NOW}
            for i in range(n_consortia)
        ],
    )
    cid = dict(
        db.session.execute(sa.select(Consortium.name, Consortium.id).where(Consortium.name.like(f"{tag} C%"))).all()
    )
    members = []
    for i in range(n_consortia):
        for k in range(3):
            members.append({"consortium_id": cid[f"{tag} C{i}"], "organization_id": oid[names[i * 3 + k]],
                            "role": "lead" if k == 0 else "partner", "confirmed_at": NOW, "created_at": NOW})  # fmt: skip
    db.session.execute(sa.insert(ConsortiumMember), members)
    apps = [{"call_id": call.id, "consortium_id": cid[f"{tag} C{i % n_consortia}"], "status": "in_review", "version": 2,
             "number": i + 1, "language": "ru", "title": f"Проект {i}", "summary": "Краткое описание " * 20,
             "problem": "Проблема " * 50, "objectives": "Цели " * 30, "activities": "Мероприятия " * 40,
             "requested_amount": 3_000_000 + (i % 10) * 100_000, "partner_roles": {}, "declarations": {},
             "created_at": NOW, "updated_at": NOW, "submitted_at": NOW - timedelta(days=11, seconds=i)}
            for i in range(n_apps)]  # fmt: skip
    db.session.execute(sa.insert(Application), apps)
    aid = dict(
        db.session.execute(sa.select(Application.number, Application.id).where(Application.call_id == call.id)).all()
    )
    lead_of = {cid[f"{tag} C{i}"]: oid[names[i * 3]] for i in range(n_consortia)}
    db.session.execute(sa.insert(BudgetLine), [
        {"application_id": aid[i + 1], "organization_id": lead_of[cid[f"{tag} C{i % n_consortia}"]], "category": "events",
         "description": "Семинары", "quantity": 1, "unit_cost": apps[i]["requested_amount"], "position": 0}
        for i in range(n_apps)])  # fmt: skip
    db.session.execute(sa.insert(Indicator), [
        {"application_id": aid[i + 1], "name": "Участники", "unit": "чел.", "baseline": 0, "target": 100, "position": 0}
        for i in range(n_apps)])  # fmt: skip
    db.session.execute(sa.insert(WorkplanItem), [
        {"application_id": aid[i + 1], "activity": "Обучение", "start_month": 1, "end_month": 6, "position": 0}
        for i in range(n_apps)])  # fmt: skip
    db.session.execute(sa.insert(Submission), [
        {"application_id": aid[i + 1], "version": 1, "receipt_number": f"{tag}-1-{i + 1:04d}", "snapshot": "{}",
         "sha256": "0" * 64, "submitted_at": NOW - timedelta(days=11)} for i in range(n_apps)])  # fmt: skip
    reviewer_ids = [uid[f"{tag.lower()}-r{i}@bench.kz"] for i in range(n_reviewers)]
    db.session.execute(sa.insert(Assignment), [
        {"application_id": aid[i + 1], "reviewer_id": reviewer_ids[(i * 3 + s) % n_reviewers], "seat": s + 1,
         "status": "submitted", "due_at": NOW + timedelta(days=5), "declared_at": NOW, "created_at": NOW}
        for i in range(n_apps) for s in range(3)])  # fmt: skip
    asg = db.session.execute(sa.select(Assignment.id, Assignment.application_id).join(
        Application, Application.id == Assignment.application_id).where(Application.call_id == call.id)).all()  # fmt: skip
    db.session.execute(sa.insert(Review), [
        {"assignment_id": a, "scores": {"a": (a * 7) % 11, "b": (a * 3) % 11, "c": a % 6}, "comments": {},
         "overall_comment": "", "saved_at": NOW, "submitted_at": NOW} for a, _app in asg])  # fmt: skip
    db.session.execute(sa.insert(Decision), [
        {"application_id": aid[i + 1], "outcome": "award", "against_selection": False, "justification": "",
         "explanation": {}, "decided_at": NOW} for i in range(min(20, n_apps))])  # fmt: skip
    db.session.execute(sa.insert(Award), [
        {"application_id": aid[i + 1], "agreement_number": f"{tag}-1/{i + 1:03d}", "amount": 3_000_000,
         "currency": "KZT", "starts_on": NOW.date(), "ends_on": (NOW + timedelta(days=365)).date(), "status": "active",
         "created_at": NOW} for i in range(min(20, n_apps))])  # fmt: skip
    award_ids = db.session.execute(sa.select(Award.id).join(Application, Application.id == Award.application_id)
                                   .where(Application.call_id == call.id)).scalars().all()  # fmt: skip
    db.session.execute(sa.insert(Tranche), [
        {"award_id": a, "n": n + 1, "percent": pct, "amount": 30_000 * pct, "condition": cond,
         "due_on": (NOW + timedelta(days=30 * n)).date()}
        for a in award_ids for n, (pct, cond) in enumerate(((40, "signature"), (40, "interim_report"), (20, "final_report")))])  # fmt: skip
    if n_subscribers:
        db.session.execute(sa.insert(Subscription), [
            {"email": f"{tag.lower()}-s{i}@bench.kz", "language": "ru", "confirmed_at": NOW, "created_at": NOW}
            for i in range(n_subscribers)])  # fmt: skip
    db.session.commit()
    lead_user = f"{tag.lower()}-u0@bench.kz"
    my_app = db.session.execute(sa.select(Application.id).join(Consortium, Consortium.id == Application.consortium_id)
                                .where(Consortium.lead_organization_id == oid[names[0]], Application.call_id == call.id)
                                .limit(1)).scalar()  # fmt: skip
    return {"call": call.id, "lead": lead_user, "reviewer": f"{tag.lower()}-r0@bench.kz", "manager": f"{tag.lower()}-manager@bench.kz",
            "application": my_app}  # fmt: skip


APPLICANT_TARGET_MS = 15
RANKING_TARGET_MS = 100


def pages(ids: dict) -> dict[str, tuple[str, str | None, str]]:
    """name → (path, who, kind): kind "applicant" (p95 ≤ 15 ms), "ranking" (p95 ≤ 100 ms), "list"
    (a manager list: the same number of statements at 10 % and 100 % of the data), "other"."""
    call = ids["call"]
    return {
        "public call page": (f"/calls/{call}", None, "other"),
        "/calls": ("/calls", None, "other"),
        "applicant dashboard": ("/applications", "lead", "applicant"),
        "application view": (f"/applications/{ids['application']}", "lead", "applicant"),
        "reviewer assignments": ("/reviews", "reviewer", "other"),
        "manager ranking screen": (f"/manage/calls/{call}/ranking", "manager", "ranking"),
        "manage: review stage (eligibility and reviewers)": (f"/manage/calls/{call}/review", "manager", "list"),
        "manage: awards dashboard": (f"/manage/calls/{call}/awards", "manager", "list"),
        "manage: appeals": (f"/manage/calls/{call}/appeals", "manager", "list"),
        "manage: questions": (f"/manage/calls/{call}/questions", "manager", "list"),
        "manage: calls": ("/manage/calls", "manager", "list"),
        "manage: reviewers": ("/manage/reviewers", "manager", "list"),
        "manage: organizations": ("/manage/organizations", "manager", "list"),
        "manage: audit log": ("/manage/audit", "manager", "list"),
        "manage: broadcasts": ("/manage/broadcasts", "manager", "list"),
        "API ranking": (f"/api/v1/calls/{call}/ranking", "manager-api", "other"),
    }


def enable_totp(db, emails: list[str]) -> None:
    """Managers need a second factor: theirs is the bench's known secret."""
    from grants.accounts import services, two_factor

    for email in emails:
        two_factor.enable_with_known_secret(services.find_by_email(email), TOTP_SECRET)
    db.session.commit()


def _otp(offset: int = 0) -> str:
    import pyotp

    return pyotp.TOTP(TOTP_SECRET).at(time.time() + 30 * offset)


def page_bytes(client: Client, path: str) -> tuple[int, int]:
    _status, html = client.request("GET", path)
    assets = [a.decode() for a in re.findall(rb'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html)]
    bodies = [html] + [client.request("GET", a)[1] for a in assets]
    return sum(len(gzip.compress(b, 6)) for b in bodies), sum(len(b) for b in bodies)


def _test_client(app, ids: dict, who: str | None):
    """A signed-in Flask test client (the second factor too, for the manager)."""
    client = app.test_client()
    if who is None:
        return client, {}
    if who == "manager-api":
        response = client.post(
            "/api/v1/auth/token", json={"email": ids["manager"], "password": PASSWORD, "otp": _otp(1)}
        )
        assert response.status_code == 201, (who, response.status_code, response.get_data(as_text=True)[:300])
        return client, {"Authorization": f"Bearer {response.json['token']}"}
    csrf = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
    html = client.get("/login").get_data(as_text=True)
    login = client.post(
        "/login", data={"email": ids[who], "password": PASSWORD, "csrf_token": csrf.search(html).group(1)}
    )
    assert login.status_code == 302, (who, login.status_code)
    if login.headers["Location"].endswith("/login/code"):
        html = client.get("/login/code").get_data(as_text=True)
        step = client.post("/login/code", data={"code": _otp(0), "csrf_token": csrf.search(html).group(1)})
        assert step.status_code == 302, (who, step.status_code, step.get_data(as_text=True)[:300])
    return client, {}


def query_counts(app, ids_small: dict, ids_full: dict) -> dict:
    """SQL statements per request for each page, at 10 % and 100 % of the data (in process)."""
    from grants.extensions import db

    out = {}
    counts: dict[str, list] = {name: [] for name in pages(ids_full)}
    for ids in (ids_small, ids_full):
        clients = {}
        for name, (path, who, _kind) in pages(ids).items():
            if who not in clients:
                clients[who] = _test_client(app, ids, who)
            client, headers = clients[who]
            client.get(path, headers=headers)  # once first: a page may store what it computes the first time
            statements = []

            def before(conn, cursor, statement, *args, _out=statements):
                _out.append(statement)

            with app.app_context():
                sa.event.listen(db.engine, "before_cursor_execute", before)
                try:
                    status = client.get(path, headers=headers).status_code
                finally:
                    sa.event.remove(db.engine, "before_cursor_execute", before)
            counts[name].append(len(statements) if status == 200 else f"HTTP {status}")
    for name, (small, full) in counts.items():
        out[name] = {
            "10%": small,
            "100%": full,
            "grows": isinstance(full, int) and isinstance(small, int) and full > small,
        }
    return out


def run(results: dict, *, requests: int = 50) -> None:
    from grants import create_app
    from grants.accounts.services import _HASHERS
    from grants.extensions import db

    with database("large") as url, private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "OUTBOX_DIR": tmp, "UPLOAD_DIR": tmp,
                          "BROKER_URL": "filesystem://", "BROKER_DIR": tmp})  # fmt: skip
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            password_hash = _HASHERS["fast"].hash(PASSWORD)  # sign-ins are not what is measured
            started = time.perf_counter()
            ids_small = seed(db, share=0.1, tag="S", password_hash=password_hash)
            ids_full = seed(db, share=1.0, tag="F", password_hash=password_hash)
            enable_totp(db, [ids_small["manager"], ids_full["manager"]])
            results["seed_seconds"] = round(time.perf_counter() - started, 1)
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        results["queries_per_request"] = query_counts(app, ids_small, ids_full)
        with app.app_context():
            from grants.accounts.models import TwoFactor

            # The in-process sign-ins used this step's codes (a code is accepted once): forget them.
            db.session.execute(sa.update(TwoFactor).values(last_step=0))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        env = {"GRANTS_DATABASE_URL": url, "GRANTS_SECRET_KEY": "bench", "GRANTS_OUTBOX_DIR": tmp, "GRANTS_UPLOAD_DIR": tmp,
               "GRANTS_INSTANCE_DIR": tmp}  # fmt: skip
        if redis_url:
            env |= {"GRANTS_BROKER_URL": redis_url, "GRANTS_REDIS_URL": redis_url}
        with gunicorn(env) as (port, how):
            results["server"] = how
            clients = {None: Client(port)}
            for who in ("lead", "reviewer", "manager"):
                clients[who] = Client(port)
                clients[who].login(ids_full[who], PASSWORD, TOTP_SECRET if who == "manager" else None)
            clients["manager-api"] = Client(port)
            clients["manager-api"].token(ids_full["manager"], PASSWORD, _otp(1))  # the web login used this step's code
            timing = {}
            for name, (path, who, kind) in pages(ids_full).items():
                client = clients[who]
                status, _body = client.request("GET", path)  # warm up
                if status != 200:
                    timing[name] = {"status": status, "kind": kind}
                    continue
                samples, budget = [], time.perf_counter() + 20  # a slow page: at least 10 requests, 20 s at most
                while len(samples) < requests and (len(samples) < 10 or time.perf_counter() < budget):
                    started = time.perf_counter()
                    status, _body = client.request("GET", path)
                    samples.append(time.perf_counter() - started)
                compressed, raw = page_bytes(client, path) if who != "manager-api" else (None, None)
                timing[name] = {"kind": kind, "requests": len(samples), "p50_ms": round(statistics.median(samples) * 1000, 1),
                                "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
                                "compressed_bytes": compressed, "bytes": raw}  # fmt: skip
            results["pages"] = timing
    for name, page in results["pages"].items():
        q = results["queries_per_request"][name]
        page["queries"] = q
        if "p95_ms" not in page:
            page["met"] = False
        elif page["kind"] == "applicant":
            page["met"] = page["p95_ms"] <= APPLICANT_TARGET_MS
        elif page["kind"] == "ranking":
            page["met"] = page["p95_ms"] <= RANKING_TARGET_MS
        elif page["kind"] == "list":
            page["met"] = isinstance(q["100%"], int) and q["10%"] == q["100%"]
