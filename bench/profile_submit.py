"""Where a submission's time goes: the rush's save, submit and receipt page for N applicants, one
after another in process (Flask's test client, PostgreSQL), under cProfile, with the SQL
statements of each request counted. `python bench/profile_submit.py [--applicants 60] [--top 40]`."""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from rush import PASSWORD, seed  # noqa: E402
from serve import database  # noqa: E402

DUMP = "--dump" in sys.argv
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=60)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", action="store_true", help="print the SQL of the last applicant's requests")
    args = parser.parse_args()

    from grants import create_app
    from grants.accounts.services import _HASHERS
    from grants.extensions import db

    with database("profile") as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "OUTBOX_DIR": tmp, "UPLOAD_DIR": tmp,
                          "BROKER_URL": "filesystem://", "BROKER_DIR": tmp})  # fmt: skip
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            _call_id, people = seed(db, args.applicants, _HASHERS["fast"].hash(PASSWORD))
            db.session.remove()
        clients = []
        for email, app_id in people:
            client = app.test_client()
            html = client.get("/login").get_data(as_text=True)
            client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": CSRF.search(html).group(1)})
            html = client.get(f"/applications/{app_id}/edit/summary").get_data(as_text=True)
            clients.append((client, app_id, CSRF.search(html).group(1)))
        statements: list[str] = []

        def count(conn, cursor, statement, *rest):
            statements.append(statement)

        with app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", count)
        queries: dict[str, list[int]] = {"save": [], "check page": [], "submit": [], "receipt page": []}
        timings: dict[str, list[float]] = {key: [] for key in queries}
        profile = cProfile.Profile()
        for n, (client, app_id, csrf) in enumerate(clients):
            form = {"title": f"Проект {n}", "summary": f"Окончательный текст {n}", "requested_amount": "1000",
                    "language": "ru", "version": "1", "action": "save", "next": "check", "csrf_token": csrf}  # fmt: skip
            steps = (
                ("save", "post", f"/applications/{app_id}/edit/summary", form, 302),
                ("check page", "get", f"/applications/{app_id}/check", None, 200),
                ("submit", "post", f"/applications/{app_id}/check", {"csrf_token": csrf}, 302),
                ("receipt page", "get", f"/applications/{app_id}", None, 200),
            )
            for name, method, path, data, expected in steps:
                statements.clear()
                started = time.perf_counter()
                response = profile.runcall(getattr(client, method), path, data=data)
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == expected, (
                    name,
                    response.status_code,
                    response.get_data(as_text=True)[:500],
                )
                queries[name].append(len(statements))
                if n == len(clients) - 1 and DUMP:
                    print("=====", name, *(" ".join(q.split())[:230] for q in statements), sep="\n   ")
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
            db.session.remove()
            db.engine.dispose()
    for name in queries:
        print(f"{name}: median {statistics.median(timings[name]) * 1000:.1f} ms in process (under cProfile), "
              f"queries {min(queries[name])}..{max(queries[name])}")  # fmt: skip
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
