"""The large round for `make bench`: 5,000 organizations, 2,000 submitted applications across
300 consortia, 300 reviewers with 6,000 reviews, 20 awards and 20,000 subscribers, generated
deterministically with bulk inserts; pages timed under gunicorn on loopback, query counts at
10 % and 100 % of the data, page bytes, and the deadline-rush load test."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC).replace(microsecond=0)
PASSWORD = "bench-password-2026"


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


def pages(ids: dict) -> dict[str, tuple[str, str | None]]:
    """name → (path, who)."""
    return {
        "public call page": (f"/calls/{ids['call']}", None),
        "/calls": ("/calls", None),
        "applicant dashboard": ("/applications", "lead"),
        "application view": (f"/applications/{ids['application']}", "lead"),
        "reviewer assignments": ("/reviews", "reviewer"),
        "manager ranking screen": (f"/manage/calls/{ids['call']}/ranking", "manager"),
        "awards dashboard": (f"/manage/calls/{ids['call']}/awards", "manager"),
        "API ranking": (f"/api/v1/calls/{ids['call']}/ranking", "manager-api"),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """A tiny HTTP client with a cookie, for loopback timing."""

    def __init__(self, port: int):
        self.port, self.cookie, self.headers = port, "", {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        all_headers = {"Cookie": self.cookie, "Accept-Encoding": "identity"} | self.headers | (headers or {})
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        for key, value in response.getheaders():
            if key.lower() == "set-cookie" and value.startswith("grants_session="):
                self.cookie = value.split(";", 1)[0]
        conn.close()
        return response.status, data

    def login(self, email: str) -> None:
        _status, html = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1).decode()
        body = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode()
        status, _ = self.request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, f"login failed for {email}: {status}"

    def token(self, email: str) -> None:
        status, data = self.request("POST", "/api/v1/auth/token", json.dumps({"email": email, "password": PASSWORD}).encode(),
                                    {"Content-Type": "application/json"})  # fmt: skip
        assert status == 201, (status, data[:200])
        self.headers["Authorization"] = "Bearer " + json.loads(data)["token"]


def page_bytes(client: Client, path: str) -> tuple[int, int]:
    _status, html = client.request("GET", path)
    assets = [a.decode() for a in re.findall(rb'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"', html)]
    bodies = [html] + [client.request("GET", a)[1] for a in assets]
    return sum(len(gzip.compress(b, 6)) for b in bodies), sum(len(b) for b in bodies)


def query_counts(app, ids_small: dict, ids_full: dict) -> dict:
    """SQL statements per request for each page, at 10 % and 100 % of the data (in process)."""
    from grants.extensions import db

    out = {}
    for name in pages(ids_full):
        counts = []
        for ids in (ids_small, ids_full):
            path, who = pages(ids)[name]
            client = app.test_client()
            headers = {}
            if who == "manager-api":
                token = client.post("/api/v1/auth/token", json={"email": ids["manager"], "password": PASSWORD}).json[
                    "token"
                ]
                headers = {"Authorization": f"Bearer {token}"}
            elif who:
                html = client.get("/login").get_data(as_text=True)
                csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
                login = client.post("/login", data={"email": ids[who], "password": PASSWORD, "csrf_token": csrf})
                assert login.status_code == 302, (who, login.status_code, login.get_data(as_text=True)[-1500:])
            statements = []

            def before(conn, cursor, statement, *args, _out=statements):
                _out.append(statement)

            with app.app_context():
                sa.event.listen(db.engine, "before_cursor_execute", before)
                try:
                    status = client.get(path, headers=headers).status_code
                finally:
                    sa.event.remove(db.engine, "before_cursor_execute", before)
            assert status == 200, (name, status)
            counts.append(len(statements))
        out[name] = {"10%": counts[0], "100%": counts[1], "grows": counts[1] > counts[0]}
    return out


def rush(port: int, db, tag: str, password_hash: str, n: int = 200) -> dict:
    """n applicants with drafts in an open call, all saving and submitting at once."""
    from grants.accounts.models import User
    from grants.applications.models import Application, BudgetLine, Indicator, Submission, WorkplanItem
    from grants.calls.models import Call, Criterion
    from grants.consortia.models import Consortium, ConsortiumMember
    from grants.organizations.models import Membership, Organization

    call = Call(code="RUSH-1", title_ru="Раш", envelope=10**10, min_amount=1, max_amount=10**8, status="published",
                opens_at=NOW - timedelta(days=30), closes_at=NOW + timedelta(hours=2), published_at=NOW - timedelta(days=30),
                consortium_min_members=1, alert_offsets_days=[1])  # fmt: skip
    call.criteria = [Criterion(key="a", title_ru="A", weight=100, max_score=10)]
    db.session.add(call)
    db.session.flush()
    db.session.execute(sa.insert(User), [{"email": f"rush{i}@bench.kz", "name": f"R{i}", "password_hash": password_hash,
                                          "locale": "ru", "roles_text": "applicant", "email_verified_at": NOW,
                                          "created_at": NOW} for i in range(n)])  # fmt: skip
    db.session.execute(sa.insert(Organization), [{"name": f"Rush NGO {i}", "bin": _bin(700_000 + i), "legal_form": "public_fund",
                                                  "region": "almaty", "settlement": "urban", "created_at": NOW,
                                                  "updated_at": NOW} for i in range(n) if _bin(700_000 + i)])  # fmt: skip
    uid = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.like("rush%"))).all())
    oid = dict(
        db.session.execute(
            sa.select(Organization.name, Organization.id).where(Organization.name.like("Rush NGO %"))
        ).all()
    )
    people = [(i, f"rush{i}@bench.kz", oid[f"Rush NGO {i}"]) for i in range(n) if f"Rush NGO {i}" in oid]
    db.session.execute(sa.insert(Membership), [{"user_id": uid[e], "organization_id": o, "role": "owner", "created_at": NOW}
                                               for _i, e, o in people])  # fmt: skip
    db.session.execute(sa.insert(Consortium), [{"name": f"Rush C{i}", "lead_organization_id": o, "created_at": NOW}
                                               for i, _e, o in people])  # fmt: skip
    cid = dict(
        db.session.execute(sa.select(Consortium.name, Consortium.id).where(Consortium.name.like("Rush C%"))).all()
    )
    db.session.execute(sa.insert(ConsortiumMember), [{"consortium_id": cid[f"Rush C{i}"], "organization_id": o, "role": "lead",
                                                      "confirmed_at": NOW, "created_at": NOW} for i, _e, o in people])  # fmt: skip
    db.session.execute(sa.insert(Application), [
        {"call_id": call.id, "consortium_id": cid[f"Rush C{i}"], "status": "draft", "version": 1, "language": "ru",
         "title": f"Rush {i}", "summary": "S", "problem": "P", "objectives": "O", "activities": "A",
         "requested_amount": 1000, "partner_roles": {}, "declarations": {"truthful": True, "no_double_funding": True,
                                                                          "consent": True},
         "created_at": NOW, "updated_at": NOW} for i, _e, _o in people])  # fmt: skip
    app_of = dict(
        db.session.execute(
            sa.select(Application.consortium_id, Application.id).where(Application.call_id == call.id)
        ).all()
    )
    for model, rows in (
        (BudgetLine, [{"application_id": app_of[cid[f"Rush C{i}"]], "organization_id": o, "category": "events",
                       "description": "x", "quantity": 1, "unit_cost": 1000, "position": 0} for i, _e, o in people]),
        (Indicator, [{"application_id": app_of[cid[f"Rush C{i}"]], "name": "x", "unit": "x", "baseline": 0, "target": 1,
                      "position": 0} for i, _e, _o in people]),
        (WorkplanItem, [{"application_id": app_of[cid[f"Rush C{i}"]], "activity": "x", "start_month": 1, "end_month": 2,
                         "position": 0} for i, _e, _o in people]),
    ):  # fmt: skip
        db.session.execute(sa.insert(model), rows)
    db.session.commit()
    timings, errors = [], []

    def one(item):
        i, email, _org = item
        client = Client(port)
        started = time.perf_counter()
        try:
            client.token(email)
            app_id = app_of[cid[f"Rush C{i}"]]
            status, data = client.request("PATCH", f"/api/v1/applications/{app_id}",
                                          json.dumps({"summary": f"Final text {i}", "version": 1}).encode(),
                                          {"Content-Type": "application/json"})  # fmt: skip
            if status != 200:
                errors.append(("save", status, data[:200]))
                return
            status, data = client.request("POST", f"/api/v1/applications/{app_id}/submit")
            if status != 200:
                errors.append(("submit", status, data[:200]))
        except Exception as error:  # noqa: BLE001 — every failure is counted and reported
            errors.append(("exception", repr(error)))
        finally:
            timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        list(pool.map(one, people))
    elapsed = time.perf_counter() - started
    stored = db.session.execute(sa.select(sa.func.count(Submission.id), sa.func.count(sa.distinct(Submission.application_id)))
                                .join(Application, Application.id == Submission.application_id)
                                .where(Application.call_id == call.id)).one()  # fmt: skip
    return {"applicants": len(people), "seconds": round(elapsed, 2), "throughput_per_s": round(len(people) / elapsed, 1),
            "p95_s": round(sorted(timings)[int(0.95 * len(timings)) - 1], 3), "errors": len(errors),
            "error_samples": [str(e)[:200] for e in errors[:3]], "submissions_stored": stored[0],
            "applications_submitted_once": stored[0] == stored[1] == len(people)}  # fmt: skip


def run(results: dict) -> None:
    from run import drop_database, fresh_database

    from grants import create_app
    from grants.accounts.services import _HASHERS
    from grants.extensions import db

    url = fresh_database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TASKS_EAGER": True, "OUTBOX_DIR": tmp,
                              "UPLOAD_DIR": tmp})  # fmt: skip
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
                password_hash = _HASHERS["default"].hash(PASSWORD)
                started = time.perf_counter()
                ids_small = seed(db, share=0.1, tag="S", password_hash=password_hash)
                ids_full = seed(db, share=1.0, tag="F", password_hash=password_hash)
                results["seed_seconds"] = round(time.perf_counter() - started, 1)
            results["queries_per_request"] = query_counts(app, ids_small, ids_full)
            port = free_port()
            env = dict(os.environ) | {"GRANTS_DATABASE_URL": url, "GRANTS_SECRET_KEY": "bench", "GRANTS_TASKS_EAGER": "1",
                                      "GRANTS_OUTBOX_DIR": tmp, "GRANTS_UPLOAD_DIR": tmp, "GRANTS_INSTANCE_DIR": tmp}  # fmt: skip
            server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{port}",
                                       "--log-level", "warning", "grants:create_app()"], cwd=ROOT, env=env)  # fmt: skip
            try:
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                        break
                    except OSError:
                        threading.Event().wait(0.1)
                clients = {None: Client(port)}
                for who in ("lead", "reviewer", "manager"):
                    clients[who] = Client(port)
                    clients[who].login(ids_full[who])
                clients["manager-api"] = Client(port)
                clients["manager-api"].token(ids_full["manager"])
                timing = {}
                for name, (path, who) in pages(ids_full).items():
                    client = clients[who]
                    client.request("GET", path)  # warm up
                    samples = []
                    for _ in range(50):
                        started = time.perf_counter()
                        status, _body = client.request("GET", path)
                        samples.append(time.perf_counter() - started)
                        assert status == 200, (name, status)
                    ordered = sorted(samples)
                    compressed, raw = page_bytes(client, path) if who != "manager-api" else (None, None)
                    timing[name] = {"p50_ms": round(statistics.median(ordered) * 1000, 1),
                                    "p95_ms": round(ordered[int(0.95 * len(ordered)) - 1] * 1000, 1),
                                    "compressed_bytes": compressed, "bytes": raw}  # fmt: skip
                results["pages"] = timing
                with app.app_context():
                    results["rush"] = rush(port, db, "R", password_hash)
            finally:
                server.terminate()
                server.wait(timeout=30)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        drop_database(url)
