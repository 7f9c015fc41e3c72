"""The deadline rush: N applicants (500 by default), each already signed in with a complete draft
open in the browser, save the draft and submit it in the last 60 seconds before the deadline,
through real gunicorn on PostgreSQL with a private Redis as broker and rate-limit store.

Every applicant is a thread with its own session cookie and CSRF token (taken from the page it
has open, as a browser would). The documented deployment has a proxy in front that stamps each
request's arrival (X-Request-Start), so a submission counts by when it arrived, not by when a busy
worker got to it: here each client sends that stamp itself as it sends (what the proxy would write
on loopback), with GRANTS_PROXY_COUNT=1; --no-proxy-stamp measures gunicorn alone. Send times are spread evenly over the window (the last one 2 s
before the deadline); each applicant then posts the summary section (save, 302), opens the check
page it redirects to, posts it (submit, 302) and opens the page that redirect names, which shows
the receipt: what a browser does.

Reported: save, submit and receipt-page latencies (p50/p95/max), start-to-receipt p95, errors by
kind, and whether every application was stored exactly once. Run alone with
`python bench/rush.py [--applicants 500] [--window 60]`; `make bench` runs it through run.py."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve import ROOT, Client, database, gunicorn, percentile, private_redis  # noqa: E402

PASSWORD = "bench-password-2026"


def _bin(i: int) -> str | None:
    from grants.organizations.bin import check_digit

    first = f"{10_000_000_000 + 700_000 * 7 + i * 7:011d}"[-11:]
    digit = check_digit(first)
    return None if digit is None else first + str(digit)


def seed(db, n: int, password_hash: str) -> tuple[int, list[tuple[str, int]]]:
    """A published call with n complete drafts, one per lead applicant; returns the call id and
    (email, application id) per applicant."""
    from grants.accounts.models import User
    from grants.applications.models import Application, BudgetLine, Indicator, WorkplanItem
    from grants.calls.models import Call, Criterion
    from grants.consortia.models import Consortium, ConsortiumMember
    from grants.organizations.models import Membership, Organization

    now = datetime.now(UTC).replace(microsecond=0)
    call = Call(code="RUSH-1", title_ru="Раш", title_kk="Раш", envelope=10**10, min_amount=1, max_amount=10**8,
                status="published", opens_at=now - timedelta(days=30), closes_at=now + timedelta(hours=2),
                published_at=now - timedelta(days=30), consortium_min_members=1, alert_offsets_days=[1])  # fmt: skip
    call.criteria = [Criterion(key="a", title_ru="A", weight=100, max_score=10)]
    db.session.add(call)
    db.session.flush()
    people = []
    i = 0
    while len(people) < n:
        if _bin(i):
            people.append(i)
        i += 1
    db.session.execute(sa.insert(User), [
        {"email": f"rush{i}@bench.kz", "name": f"Applicant {i}", "password_hash": password_hash, "locale": "ru",
         "roles_text": "applicant", "email_verified_at": now, "created_at": now} for i in people])  # fmt: skip
    db.session.execute(sa.insert(Organization), [
        {"name": f"Rush NGO {i}", "bin": _bin(i), "legal_form": "public_fund", "region": "almaty", "settlement": "urban",
         "created_at": now, "updated_at": now} for i in people])  # fmt: skip
    uid = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.like("rush%@bench.kz"))).all())
    oid = dict(db.session.execute(sa.select(Organization.name, Organization.id)
                                  .where(Organization.name.like("Rush NGO %"))).all())  # fmt: skip
    db.session.execute(sa.insert(Membership), [
        {"user_id": uid[f"rush{i}@bench.kz"], "organization_id": oid[f"Rush NGO {i}"], "role": "owner", "created_at": now}
        for i in people])  # fmt: skip
    db.session.execute(sa.insert(Consortium), [
        {"name": f"Rush C{i}", "lead_organization_id": oid[f"Rush NGO {i}"], "created_at": now} for i in people])  # fmt: skip
    cid = dict(
        db.session.execute(sa.select(Consortium.name, Consortium.id).where(Consortium.name.like("Rush C%"))).all()
    )
    db.session.execute(sa.insert(ConsortiumMember), [
        {"consortium_id": cid[f"Rush C{i}"], "organization_id": oid[f"Rush NGO {i}"], "role": "lead", "confirmed_at": now,
         "created_at": now} for i in people])  # fmt: skip
    declarations = {"truthful": True, "no_double_funding": True, "consent": True}
    db.session.execute(sa.insert(Application), [
        {"call_id": call.id, "consortium_id": cid[f"Rush C{i}"], "status": "draft", "version": 1, "language": "ru",
         "title": f"Проект {i}", "summary": "Краткое описание", "problem": "Проблема", "objectives": "Цели",
         "activities": "Мероприятия", "requested_amount": 1000, "partner_roles": {}, "declarations": declarations,
         "created_by_id": uid[f"rush{i}@bench.kz"], "created_at": now, "updated_at": now} for i in people])  # fmt: skip
    app_of = dict(db.session.execute(sa.select(Application.consortium_id, Application.id)
                                     .where(Application.call_id == call.id)).all())  # fmt: skip
    rows = [(app_of[cid[f"Rush C{i}"]], oid[f"Rush NGO {i}"]) for i in people]
    db.session.execute(sa.insert(BudgetLine), [
        {"application_id": a, "organization_id": o, "category": "events", "description": "Семинар", "quantity": 1,
         "unit_cost": 1000, "position": 0} for a, o in rows])  # fmt: skip
    db.session.execute(sa.insert(Indicator), [
        {"application_id": a, "name": "Участники", "unit": "чел.", "baseline": 0, "target": 10, "position": 0}
        for a, _o in rows])  # fmt: skip
    db.session.execute(sa.insert(WorkplanItem), [
        {"application_id": a, "activity": "Семинар", "start_month": 1, "end_month": 2, "position": 0} for a, _o in rows])  # fmt: skip
    db.session.commit()
    return call.id, [(f"rush{i}@bench.kz", app_of[cid[f"Rush C{i}"]]) for i in people]


class LockSampler(threading.Thread):
    """Every 100 ms, how many of the database's sessions are running a statement and how many of
    those wait for a lock (pg_stat_activity): shows whether submissions queue behind each other."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.name_ = sa.engine.make_url(url).database
        self.samples: list[tuple[int, int]] = []
        self.waits: Counter = Counter()
        self.done = threading.Event()

    def run(self) -> None:
        query = sa.text("SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE state = 'active' "
                        "AND wait_event_type = 'Lock') FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()")  # fmt: skip
        kinds = sa.text("SELECT wait_event, left(query, 60) FROM pg_stat_activity WHERE datname = :name "
                        "AND state = 'active' AND wait_event_type = 'Lock'")  # fmt: skip
        with self.engine.connect() as conn:
            while not self.done.wait(0.1):
                self.samples.append(tuple(conn.execute(query, {"name": self.name_}).one()))
                self.waits.update(f"{w}: {q}" for w, q in conn.execute(kinds, {"name": self.name_}))
                conn.rollback()

    def stop(self) -> dict:
        self.done.set()
        self.join()
        self.engine.dispose()
        busy = [s for s in self.samples if s[0]]
        return {"samples": len(self.samples),
                "mean_active_statements": round(sum(a for a, _w in busy) / max(1, len(busy)), 2),
                "mean_waiting_for_a_lock": round(sum(w for _a, w in busy) / max(1, len(busy)), 2),
                "max_waiting_for_a_lock": max((w for _a, w in self.samples), default=0),
                "waiting_on": dict(self.waits.most_common(4))}  # fmt: skip


class Applicant:
    def __init__(self, port: int, n: int, email: str, app_id: int):
        self.client, self.n, self.email, self.app_id = Client(port), n, email, app_id
        self.version = "1"
        self.times: dict[str, float] = {}
        self.error: str | None = None

    def prepare(self) -> None:
        """Signed in, with the summary section open (its form holds the CSRF token and version)."""
        self.client.login(self.email, PASSWORD)
        status, html = self.client.get(f"/applications/{self.app_id}/edit/summary")
        assert status == 200, (self.email, status)
        import re

        self.version = re.search(rb'name="version"[^>]*value="(\d+)"', html).group(1).decode()

    def go(self, at: float, stamp: bool) -> None:
        time.sleep(max(0.0, at - time.monotonic()))
        client, started = self.client, time.monotonic()
        client.stamp = stamp
        self.times["sent"] = started
        try:
            t = time.monotonic()
            status, data = client.post_form(f"/applications/{self.app_id}/edit/summary", {
                "title": f"Проект {self.n}", "summary": f"Окончательный текст {self.n}", "requested_amount": "1000",
                "language": "ru", "version": self.version, "action": "save", "next": "check"})  # fmt: skip
            self.times["save"] = time.monotonic() - t
            if status != 302:
                self.error = f"save {status} {_code(data)}"
                return
            t = time.monotonic()
            status, data = client.get(urllib.parse.urlsplit(client.location).path)  # the check page, with its button
            self.times["check_page"] = time.monotonic() - t
            if status != 200:
                self.error = f"check page {status}"
                return
            t = time.monotonic()
            status, data = client.post_form(f"/applications/{self.app_id}/check", {})
            self.times["submit"] = time.monotonic() - t
            if status != 302:
                self.error = f"submit {status} {_code(data)}"
                return
            t = time.monotonic()
            status, data = client.get(urllib.parse.urlsplit(client.location).path)
            self.times["receipt_page"] = time.monotonic() - t
            if status != 200 or b"RUSH-1-" not in data:
                self.error = f"receipt page {status}"
                return
            self.times["total"] = time.monotonic() - started
        except Exception as error:  # noqa: BLE001 — every failure is counted and reported
            self.error = f"exception {type(error).__name__}: {error}"[:200]


def _code(data: bytes) -> str:
    """The error message the page shows, for the report."""
    import re

    found = re.findall(rb'class="flash error"[^>]*>\s*([^<]{0,120})', data)
    return found[-1].decode(errors="replace").strip() if found else ""


# Where in the window the k-th of n applicants sends, from its rank r = k / (n - 1) in 0..1.
SHAPES = {
    "even": lambda r: r,  # the same number every second
    "ramp": lambda r: r**0.5,  # more and more towards the deadline: the last second sees twice the mean
    "burst": lambda r: 0.0,  # everyone at once: the server's capacity, not a realistic rush
}


def run(
    results: dict, *, applicants: int = 500, window: float = 60.0, shape: str = "ramp", code: Path | None = None,
    stamp: bool = True,
) -> dict:  # fmt: skip
    from grants import create_app
    from grants.accounts.services import _HASHERS
    from grants.applications.models import Application, Submission
    from grants.calls.models import Call
    from grants.extensions import db

    with database("rush") as url, private_redis() as redis_url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "OUTBOX_DIR": tmp, "UPLOAD_DIR": tmp})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            # Signing in happens before the window and is not measured: a cheap Argon2 hash (verify reads
            # the cost from the hash) keeps 500 sign-ins short.
            call_id, people = seed(db, applicants, _HASHERS["fast"].hash(PASSWORD))
            db.session.remove()
        env = {"GRANTS_DATABASE_URL": url, "GRANTS_SECRET_KEY": "bench", "GRANTS_OUTBOX_DIR": tmp,
               "GRANTS_UPLOAD_DIR": tmp, "GRANTS_INSTANCE_DIR": tmp, "GRANTS_BASE_URL": "http://127.0.0.1"}  # fmt: skip
        if redis_url:
            env |= {"GRANTS_BROKER_URL": redis_url, "GRANTS_REDIS_URL": redis_url}
        if stamp:  # the documented deployment: a proxy in front stamps X-Request-Start (grants/ops/gunicorn_conf.py)
            env |= {"GRANTS_PROXY_COUNT": "1", "GRANTS_TRUST_REQUEST_START": "1"}
        with gunicorn(env, code or ROOT) as (port, how):
            crowd = [Applicant(port, n, email, app_id) for n, (email, app_id) in enumerate(people)]
            started = time.monotonic()
            _in_threads(crowd, lambda a: a.prepare(), width=16)
            signed_in = time.monotonic() - started
            # The window opens now: the deadline is `window` seconds away; the last applicant sends 2 s before it.
            opens = time.monotonic() + 1.0
            deadline = datetime.now(UTC) + timedelta(seconds=1.0 + window)
            with app.app_context():
                db.session.execute(sa.update(Call).where(Call.id == call_id).values(closes_at=deadline))
                db.session.commit()
                db.session.remove()
            spread = window - 2.0
            threads = [threading.Thread(target=a.go, args=(opens + spread * SHAPES[shape](i / max(1, len(crowd) - 1)), stamp))
                       for i, a in enumerate(crowd)]  # fmt: skip
            sampler = LockSampler(url)
            sampler.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - opens
            locks = sampler.stop()
        with app.app_context():
            stored = db.session.execute(
                sa.select(sa.func.count(Submission.id), sa.func.count(sa.distinct(Submission.application_id)))
                .join(Application, Application.id == Submission.application_id)
                .where(Application.call_id == call_id)
            ).one()
            submitted = db.session.execute(sa.select(sa.func.count()).select_from(Application)
                                           .where(Application.call_id == call_id, Application.status == "submitted")).scalar()  # fmt: skip
            db.session.remove()
            db.engine.dispose()
    errors = Counter(a.error for a in crowd if a.error)
    done = [a for a in crowd if "total" in a.times]

    def stats(key: str) -> dict:
        samples = [a.times[key] for a in crowd if key in a.times]
        return {"p50_s": round(percentile(samples, 0.5), 3), "p95_s": round(percentile(samples, 0.95), 3),
                "max_s": round(max(samples), 3) if samples else None, "n": len(samples)}  # fmt: skip

    out = {
        "applicants": len(crowd), "window_s": window, "shape": shape,
        "arrival": "X-Request-Start sent by each client as it sends (a proxy's stamp on loopback)" if stamp
                   else "the server's own receive time (no proxy)", "server": how, "signed_in_seconds": round(signed_in, 1),
        "seconds": round(elapsed, 1), "completed": len(done), "errors": sum(errors.values()),
        "errors_by_kind": dict(errors.most_common(5)), "save": stats("save"), "check_page": stats("check_page"), "submit": stats("submit"),
        "receipt_page": stats("receipt_page"), "start_to_receipt": stats("total"),
        "submissions_stored": stored[0], "applications_submitted": submitted,
        "stored_exactly_once": stored[0] == stored[1] == submitted == len(crowd), "database_while_sending": locks,
    }  # fmt: skip
    out["met"] = out["errors"] == 0 and out["stored_exactly_once"] and out["submit"]["p95_s"] <= 1.0
    results["rush"] = out
    return out


def _in_threads(items, fn, *, width: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=width) as pool:
        list(pool.map(fn, items))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="ramp")
    parser.add_argument(
        "--code", type=Path, help="serve this checkout instead (e.g. a copy of the code before a change)"
    )
    parser.add_argument("--no-proxy-stamp", action="store_true", help="no X-Request-Start: as gunicorn alone, no proxy")
    args = parser.parse_args()
    out = run({}, applicants=args.applicants, window=args.window, shape=args.shape, code=args.code,
              stamp=not args.no_proxy_stamp)  # fmt: skip
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
