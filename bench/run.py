"""`make bench`: every speed target of issue 15 (item 5) with its figure and whether it is met,
then the other measurements. Writes bench/results.json and bench/results.md. Speed targets are
reported here, never asserted in the test suite.

- large.py: a full-scale round (2,000 applications, 6,000 reviews) in a PostgreSQL database of
  its own, pages under real gunicorn: the ranking screen, every manager list, applicant pages;
- rush.py: the deadline rush, 500 applicants in the last 60 s;
- fresh_run.py (with --fresh-run; minutes): `make run` on a fresh clone until /calls answers;
- here: the due-alert scan (20,000 subscribers, 2,000 drafts), ranking + selection of 2,000
  applications (the pure module), PDF and letter rendering.

The machine's load average is recorded with the figures: on a shared machine they are slower."""

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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import large  # noqa: E402
import rush  # noqa: E402

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


SECTIONS = ("ranking_selection", "pdf", "letters", "alert_scan", "large_round", "rush")


def _yes(flag) -> str:
    return "**yes**" if flag else "**NO**"


def targets_table(results: dict) -> list[str]:
    """Every speed target of issue 15 (item 5) with its figure and whether it is met."""
    rows = ["| target (issue 15, item 5) | figure | target | met |", "|---|---|---|---|"]
    pages = (results.get("large_round") or {}).get("pages") or {}
    for name, page in pages.items():
        if page["kind"] not in ("ranking", "applicant", "list"):
            continue
        q = page.get("queries", {})
        statements = f"{q.get('10%')} → {q.get('100%')} statements at 10 % → 100 %"
        if "p95_ms" not in page:
            rows.append(f"| {name} | HTTP {page['status']} | — | {_yes(False)} |")
        elif page["kind"] == "list":
            rows.append(f"| {name}: p95 and statements at full scale | {page['p95_ms']} ms; {statements} | "
                        f"paginated: the same count at both sizes | {_yes(page['met'])} |")  # fmt: skip
        else:
            limit = large.RANKING_TARGET_MS if page["kind"] == "ranking" else large.APPLICANT_TARGET_MS
            rows.append(f"| {name} p95 at full scale | {page['p95_ms']} ms ({statements}) | ≤ {limit} ms | "
                        f"{_yes(page['met'])} |")  # fmt: skip
    rush_ = results.get("rush")
    if rush_:
        who = f"{rush_['applicants']} applicants in the last {rush_['window_s']:g} s ({rush_['shape']})"
        rows += [
            f"| deadline rush, {who}: errors | {rush_['errors']} {rush_['errors_by_kind'] or ''} | 0 | "
            f"{_yes(rush_['errors'] == 0)} |",
            f"| deadline rush: every submission stored exactly once | {rush_['submissions_stored']} stored, "
            f"{rush_['applications_submitted']} submitted | all {rush_['applicants']}, once | "
            f"{_yes(rush_['stored_exactly_once'])} |",
            f"| deadline rush: submit p95 | {rush_['submit']['p95_s']} s (p50 {rush_['submit']['p50_s']} s) | ≤ 1 s | "
            f"{_yes(rush_['submit']['p95_s'] <= 1.0)} |",
        ]  # fmt: skip
    fresh = results.get("fresh_run") or _previous("fresh_run")
    if fresh:
        when = f" (measured {fresh.get('measured_at', '?')}{'' if 'fresh_run' in results else ', not rerun'}, pip cache {fresh.get('pip_cache', '?')}, {fresh.get('lines_printed', '?')} lines of progress)"
        rows.append(f"| `make run` on a fresh clone: first 200 of /calls | {fresh['seconds_to_first_200']} s{when} | "
                    f"≤ 90 s | {_yes(fresh['met'])} |")  # fmt: skip
    else:
        rows.append("| `make run` on a fresh clone: first 200 of /calls | not measured (`bench/run.py --fresh-run`) | "
                    "≤ 90 s | — |")  # fmt: skip
    return rows


def _previous(key: str | None):
    """The last run's results (or one section of them)."""
    path = Path(__file__).with_name("results.json")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if key is None else data.get(key)


def other_table(results: dict) -> list[str]:
    table = []
    if any(key in results for key in ("alert_scan", "ranking_selection", "pdf", "letters")):
        table += ["| measurement | result | target |", "|---|---|---|"]
    if "alert_scan" in results:
        scan_ = results["alert_scan"]
        table += [
            f"| alert scan, 20,000 subscribers + 2,000 drafts (first run, claims {scan_['claimed']}) | {scan_['first_scan_seconds']} s | — |",
            f"| alert scan again 15 minutes later (nothing new) | {scan_['repeat_scan_seconds']} s | — |",
        ]  # fmt: skip
    if "ranking_selection" in results:
        table.append(f"| ranking + selection, 2,000 applications (the pure module) | "
                     f"{results['ranking_selection']['median_ms']} ms median | — |")  # fmt: skip
    if "pdf" in results:
        table.append(f"| one-page PDF rendering | {results['pdf']['seconds_per_document']} s per document | — |")
    if "letters" in results:
        table.append(f"| award letters (20, kk/ru/en, with QR) | {results['letters']['seconds_per_letter']} s per letter | "
                     f"≤ 0.15 s |")  # fmt: skip
    round_ = results.get("large_round")
    if round_:
        table += [
            "",
            f"Large round (5,000 organizations, 2,000 submitted applications, 300 consortia, 300 reviewers, "
            f"6,000 reviews, 20 awards, 20,000 subscribers; seeded in {round_['seed_seconds']} s), gunicorn "
            f"({round_['server']}) on loopback, 50 requests per page one after another (a slow page: at least "
            f"10, for 20 s at most):",
            "",
            "| page | p50 | p95 | statements at 10 % / 100 % | compressed / raw bytes |",
            "|---|---|---|---|---|",
        ]
        for name, page in round_["pages"].items():
            q = page["queries"]
            if "p95_ms" not in page:
                table.append(f"| {name} | HTTP {page['status']} | | {q['10%']} / {q['100%']} | |")
                continue
            size = f"{page['compressed_bytes']:,} / {page['bytes']:,}" if page["compressed_bytes"] else "JSON"
            table.append(f"| {name} | {page['p50_ms']} ms | {page['p95_ms']} ms | "
                         f"{q['10%']} / {q['100%']}{' (grows!)' if q['grows'] else ''} | {size} |")  # fmt: skip
    rush_ = results.get("rush")
    if rush_:
        table += [
            "",
            f"Deadline rush ({rush_['server']}, PostgreSQL, a private Redis as broker): {rush_['applicants']} "
            f"applicants signed in beforehand, each with its own session and CSRF token, sending in the last "
            f"{rush_['window_s']:g} s ({rush_['shape']}): save, check page, submit, receipt page. Arrival: {rush_['arrival']}.",
            "",
            "| step | p50 | p95 | max |", "|---|---|---|---|",
        ]  # fmt: skip
        for step in ("save", "check_page", "submit", "receipt_page", "start_to_receipt"):
            if step in rush_:
                s_ = rush_[step]
                table.append(f"| {step.replace('_', ' ')} | {s_['p50_s']} s | {s_['p95_s']} s | {s_['max_s']} s |")
        db_ = rush_.get("database_while_sending", {})
        table += ["", f"While sending, the database ran {db_.get('mean_active_statements')} statements at a time on "
                      f"average, {db_.get('mean_waiting_for_a_lock')} of them waiting for a lock "
                      f"({', '.join(db_.get('waiting_on', {})) or 'none'})."]  # fmt: skip
    return table


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="make bench: every speed target with its figure")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SECTIONS)}, fresh_run")
    parser.add_argument("--fresh-run", action="store_true", help="also time `make run` on a fresh clone (minutes)")
    parser.add_argument("--applicants", type=int, default=500, help="deadline rush size")
    parser.add_argument("--shape", default="ramp", help="deadline rush: even, ramp (default) or burst")
    parser.add_argument("--no-proxy-stamp", action="store_true", help="deadline rush without X-Request-Start")
    parser.add_argument("--label", default="", help="a note stored with the results, e.g. before / after")
    parser.add_argument(
        "--render", action="store_true", help="write results.md again from results.json, measuring nothing"
    )
    args = parser.parse_args()
    if args.render:
        results = json.loads(Path(__file__).with_name("results.json").read_text())
        return write(results)
    only = set(args.only.split(",")) if args.only else set(SECTIONS) | ({"fresh_run"} if args.fresh_run else set())
    results: dict = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "label": args.label,
                     "cores": os.cpu_count(), "load_average_at_start": os.getloadavg()}  # fmt: skip
    if "ranking_selection" in only:
        bench_ranking(results)
    if "pdf" in only:
        bench_pdf(results)
    if "letters" in only:
        bench_letters(results)
    if "alert_scan" in only:
        bench_scan(results)
    if "large_round" in only:
        round_: dict = {}
        large.run(round_)
        results["large_round"] = round_
    if "rush" in only:
        rush.run(results, applicants=args.applicants, shape=args.shape, stamp=not args.no_proxy_stamp)
    if "fresh_run" in only:
        import fresh_run

        results["fresh_run"] = fresh_run.run()
    results["load_average_at_end"] = os.getloadavg()
    if args.only:  # the other sections stay as the last run measured them, and say so
        previous = _previous(None) or {}
        for key in (*SECTIONS, "fresh_run"):
            if key not in results and key in previous:
                results[key] = previous[key]
                own = previous[key].get("measured_at") if isinstance(previous[key], dict) else None
                earlier = previous.get("kept_from_earlier_runs", {}).get(key)
                results.setdefault("kept_from_earlier_runs", {})[key] = own or earlier or previous.get("measured_at")
    Path(__file__).with_name("results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return write(results)


def write(results: dict) -> int:
    label = results.get("label")
    load = f"load average {results['load_average_at_start'][0]:.1f} at the start, {results['load_average_at_end'][0]:.1f} at the end"
    text = [f"Measured {results['measured_at']} on {results['cores']} cores ({load}){' — ' + label if label else ''}.",
            *(f"Kept from the run of {when}: {key}." for key, when in results.get("kept_from_earlier_runs", {}).items()),
            "", *targets_table(results), "", *other_table(results)]  # fmt: skip
    Path(__file__).with_name("results.md").write_text("\n".join(text) + "\n")
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
