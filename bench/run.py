"""`make bench`: seed a large round deterministically in a PostgreSQL database of its own and
measure. Writes bench/results.json and bench/results.md. Speed targets are reported here,
never asserted in the test suite.

Measured so far: the due-alert scan (20,000 confirmed subscribers, 2,000 unsubmitted drafts),
ranking + selection of 2,000 applications (the pure module), and PDF rendering."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_URL = os.environ.get("GRANTS_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


def fresh_database() -> str:
    name = f"grants_bench_{os.getpid()}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def seed_round(db, *, subscribers: int, drafts: int) -> int:
    """A published call closing in 29 days, subscribers, and unsubmitted drafts (bulk inserts)."""
    from grants.accounts.models import User
    from grants.applications.models import Application
    from grants.calls.models import Call, Criterion
    from grants.consortia.models import Consortium, ConsortiumMember
    from grants.organizations.bin import complete_bin
    from grants.organizations.models import Membership, Organization
    from grants.subscriptions.models import Subscription

    call = Call(code="BENCH-1", title_ru="Бенчмарк", envelope=10**10, min_amount=1, max_amount=10**8,
                opens_at=NOW - timedelta(days=10), closes_at=NOW + timedelta(days=29), status="published",
                alert_offsets_days=[30, 14, 7, 3, 1], published_at=NOW - timedelta(days=10))  # fmt: skip
    call.criteria = [Criterion(key="q", title_ru="Качество", weight=100, max_score=10)]
    db.session.add(call)
    db.session.flush()
    db.session.execute(sa.insert(Subscription), [
        {"email": f"s{i}@bench.kz", "language": ("kk", "ru", "en")[i % 3], "confirmed_at": NOW, "created_at": NOW}
        for i in range(subscribers)])  # fmt: skip
    db.session.execute(sa.insert(User), [
        {"email": f"lead{i}@bench.kz", "name": f"Lead {i}", "password_hash": "x", "locale": "ru", "roles_text": "applicant",
         "email_verified_at": NOW, "created_at": NOW} for i in range(drafts)])  # fmt: skip
    db.session.execute(sa.insert(Organization), [
        {"name": f"NGO {i}", "bin": complete_bin(f"{10_000_000_000 + i * 7:011d}"[-11:]) if _ok(i) else None,
         "legal_form": "public_fund" if _ok(i) else "initiative_group", "region": "almaty", "settlement": "urban",
         "created_at": NOW, "updated_at": NOW} for i in range(drafts)])  # fmt: skip
    users = dict(db.session.execute(sa.select(User.email, User.id)).all())
    orgs = dict(db.session.execute(sa.select(Organization.name, Organization.id)).all())
    db.session.execute(sa.insert(Membership), [
        {"user_id": users[f"lead{i}@bench.kz"], "organization_id": orgs[f"NGO {i}"], "role": "owner", "created_at": NOW}
        for i in range(drafts)])  # fmt: skip
    db.session.execute(
        sa.insert(Consortium),
        [{"name": f"C{i}", "lead_organization_id": orgs[f"NGO {i}"], "created_at": NOW} for i in range(drafts)],
    )
    consortia = dict(db.session.execute(sa.select(Consortium.name, Consortium.id)).all())
    db.session.execute(sa.insert(ConsortiumMember), [
        {"consortium_id": consortia[f"C{i}"], "organization_id": orgs[f"NGO {i}"], "role": "lead", "confirmed_at": NOW,
         "created_at": NOW} for i in range(drafts)])  # fmt: skip
    db.session.execute(sa.insert(Application), [
        {"call_id": call.id, "consortium_id": consortia[f"C{i}"], "status": "draft", "version": 1, "language": "ru",
         "title": f"Draft {i}", "requested_amount": 0, "partner_roles": {}, "declarations": {}, "created_at": NOW,
         "updated_at": NOW} for i in range(drafts)])  # fmt: skip
    db.session.commit()
    return call.id


def _ok(i: int) -> bool:
    from grants.organizations.bin import check_digit

    return check_digit(f"{10_000_000_000 + i * 7:011d}"[-11:]) is not None


def bench_scan(results: dict) -> None:
    from grants import create_app
    from grants.alerts import services as _alerts  # noqa: F401  (registers the alert kinds)
    from grants.alerts.models import Notification
    from grants.alerts.registry import scan
    from grants.extensions import db

    url = fresh_database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TASKS_EAGER": True, "OUTBOX_DIR": tmp,
                              "SECRET_KEY": "bench"})  # fmt: skip
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
                started = time.perf_counter()
                seed_round(db, subscribers=20_000, drafts=2_000)
                seeded = time.perf_counter() - started
                at = NOW + timedelta(minutes=1)  # 29 days before the deadline: the 30-day alert is due
                first = time.perf_counter()
                claimed = scan(at).claimed
                first = time.perf_counter() - first
                again = time.perf_counter()
                repeat = scan(at + timedelta(minutes=15)).claimed
                again = time.perf_counter() - again
                counts = dict(
                    db.session.execute(sa.select(Notification.kind, sa.func.count()).group_by(Notification.kind)).all()
                )
                db.session.remove()
                db.engine.dispose()
        results["alert_scan"] = {
            "subscribers": 20_000, "drafts": 2_000, "seed_seconds": round(seeded, 2),
            "first_scan_seconds": round(first, 3), "claimed": len(claimed), "by_kind": counts,
            "repeat_scan_seconds": round(again, 3), "repeat_claimed": len(repeat),
        }  # fmt: skip
    finally:
        drop_database(url)


def bench_ranking(results: dict) -> None:
    from grants.reviews import scoring

    criteria = (scoring.Criterion("a", 30, 10), scoring.Criterion("b", 40, 10), scoring.Criterion("c", 30, 5))
    candidates = []
    for i in range(2_000):
        reviews = tuple({"a": (i * 7 + s) % 11, "b": (i * 3 + s) % 11, "c": (i + s) % 6} for s in range(3))
        members = (scoring.Member(i, True, women_led=i % 5 == 0, youth_led=i % 7 == 0, rural=i % 3 == 0),)
        candidates.append(scoring.Candidate(i, i % 300, 3_000_000 + (i % 10) * 100_000, NOW + timedelta(seconds=i),
                                            i % 17 != 0, reviews, members))  # fmt: skip
    rules = scoring.Rules(criteria, quality_threshold=Fraction(60), envelope=100_000_000)
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        outcome = scoring.evaluate(candidates, rules)
        timings.append(time.perf_counter() - started)
    results["ranking_selection"] = {"applications": 2_000, "median_ms": round(statistics.median(timings) * 1000, 1),
                                    "max_ms": round(max(timings) * 1000, 1), "awards": outcome.awards}  # fmt: skip


def bench_letters(results: dict) -> None:
    """20 award letters through the real path (template, amount in words, QR, WeasyPrint)."""
    from grants import create_app
    from grants.demo import seed
    from grants.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/letters.sqlite3", "SECRET_KEY": "bench",
                          "TASKS_EAGER": True, "OUTBOX_DIR": tmp, "UPLOAD_DIR": tmp, "PASSWORD_HASHING": "fast"})  # fmt: skip
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            seed(only_if_empty=True)
            from grants.awards.letters import render_letter
            from grants.awards.models import Award

            award = db.session.execute(db.select(Award)).scalars().first()
            render_letter(award, "kk", "WARMUP", 1)
            timings = []
            for n in range(20):
                started = time.perf_counter()
                render_letter(award, ("kk", "ru", "en")[n % 3], f"CODE{n}", 1)
                timings.append(time.perf_counter() - started)
            db.session.remove()
            db.engine.dispose()
    results["letters"] = {"letters": 20, "seconds_per_letter": round(statistics.mean(timings), 3),
                          "max_seconds": round(max(timings), 3)}  # fmt: skip


def bench_pdf(results: dict) -> None:
    from grants import create_app
    from grants.core.pdf import html_to_pdf

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "bench"})
    html = (
        "<html><body><h1>Грант беру туралы хат</h1>"
        + "<p>Әсел Қайратқызы · ҮЕҰ · 5 000 000 ₸</p>" * 40
        + "</body></html>"
    )
    with app.app_context():
        html_to_pdf(html)  # warm up fonts
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            html_to_pdf(html)
            timings.append(time.perf_counter() - started)
    results["pdf"] = {"documents": 20, "seconds_per_document": round(statistics.mean(timings), 3),
                      "note": "a one-page Kazakh document; award letters arrive with the Awards issue"}  # fmt: skip


def main() -> int:
    results: dict = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    bench_ranking(results)
    bench_pdf(results)
    bench_letters(results)
    bench_scan(results)
    import large

    large_results: dict = {}
    large.run(large_results)
    results["large_round"] = large_results
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    scan_ = results["alert_scan"]
    table = [
        "| measurement | result | target |", "|---|---|---|",
        f"| alert scan, 20,000 subscribers + 2,000 drafts (first run, claims {scan_['claimed']}) | {scan_['first_scan_seconds']} s | — |",
        f"| alert scan again 15 minutes later (nothing new) | {scan_['repeat_scan_seconds']} s | — |",
        f"| ranking + selection, 2,000 applications | {results['ranking_selection']['median_ms']} ms median | ≤ 100 ms |",
        f"| one-page PDF rendering | {results['pdf']['seconds_per_document']} s per document | — |",
        f"| award letters (20, kk/ru/en, with QR) | {results['letters']['seconds_per_letter']} s per letter | ≤ 0.15 s |",
    ]  # fmt: skip
    round_ = results["large_round"]
    table += [
        "",
        f"Large round (5,000 organizations, 2,000 submitted applications, 300 consortia, 300 reviewers, "
        f"6,000 reviews, 20 awards, 20,000 subscribers; seeded in {round_['seed_seconds']} s), gunicorn "
        f"2 workers × 8 threads on loopback, 50 requests per page:",
        "",
        "| page | p50 | p95 | target p95 | queries at 10 % / 100 % | compressed / raw bytes |",
        "|---|---|---|---|---|---|",
    ]
    targets = {"manager ranking screen": "≤ 100 ms", "API ranking": "—", "awards dashboard": "—",
               "reviewer assignments": "—"}  # fmt: skip
    for name, page in round_["pages"].items():
        q = round_["queries_per_request"][name]
        size = f"{page['compressed_bytes']:,} / {page['bytes']:,}" if page["compressed_bytes"] else "JSON"
        table.append(f"| {name} | {page['p50_ms']} ms | {page['p95_ms']} ms | {targets.get(name, '≤ 20 ms')} | "
                     f"{q['10%']} / {q['100%']}{' (grows!)' if q['grows'] else ''} | {size} |")  # fmt: skip
    rush = round_["rush"]
    table += ["", f"Deadline rush: {rush['applicants']} applicants at once, each taking a token, saving and submitting: "
                  f"{rush['seconds']} s, {rush['throughput_per_s']} applicants/s, p95 {rush['p95_s']} s, errors "
                  f"{rush['errors']}, submissions stored {rush['submissions_stored']} (each exactly once: "
                  f"{rush['applications_submitted_once']})."]  # fmt: skip
    Path(__file__).with_name("results.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
