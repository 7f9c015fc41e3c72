"""Test harness: SQLite and PostgreSQL (its own throwaway database), real Redis (own key
prefix), a real SMTP server in-process (aiosmtpd) and Chromium driven by Playwright.

Outside CI an unreachable service skips its tests with one clear line; with CI=true the
run fails instead. The summary says how many tests ran against each real service."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import socket
import threading
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from s3server import s3_server  # noqa: F401  (the S3 protocol server fixture, for every test)
from sqlalchemy.engine import make_url

from grants.core import clock

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
PG_URL = os.environ.get("GRANTS_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GRANTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("GRANTS_TEST_CHROMIUM", "/usr/bin/chromium")
SECRET = "test-secret-key-not-for-production"

USED = Counter()
_UNAVAILABLE: dict[str, str] = {}


def _reuse_url_builders() -> None:
    """Most tests build an app of their own (create_app), and 85% of its 50 ms went to Werkzeug
    compiling two URL-building functions per route with `compile()`, the same functions for every
    app. The function depends only on the rule's text, its parsed parts, the names of its defaults
    and `append_unknown` (it reaches the rule's converters through its `self` argument), so it is
    compiled once per run; a rule with a default inside its path (the one case where Werkzeug
    bakes a converter's output into the code) is compiled as before."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another Werkzeug: left as it is
        return
    compiled: dict[tuple, object] = {}

    def reused(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        if any(dynamic and part in defaults for dynamic, part in self._trace):
            return compile_builder(self, append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = reused


_reuse_url_builders()


def unavailable(service: str, why: str):
    """Skip (one clear line) outside CI; fail in CI."""
    message = f"{service} is not reachable ({why}); its tests are skipped. Start it or set CI=true to fail."
    if IN_CI:
        pytest.fail(f"{service} is required in CI but not reachable: {why}", pytrace=False)
    if service not in _UNAVAILABLE:
        _UNAVAILABLE[service] = message
    pytest.skip(message)


# --- databases ---------------------------------------------------------------------------


def _sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def migrate(url: str, instance: Path) -> None:
    """The schema comes only from the migrations."""
    from flask_migrate import upgrade

    from grants import create_app

    app = create_app(_base_config(url, instance))
    with app.app_context():
        upgrade()
        from grants.extensions import db

        db.engine.dispose()


def _base_config(url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
        "TASKS_EAGER": True,
        "MAIL_SERVER": None,
        "OUTBOX_DIR": str(instance / "outbox"),
        "UPLOAD_DIR": str(instance / "uploads"),
        "BROKER_DIR": str(instance / "broker"),
        "RATELIMIT_STORAGE_URI": "memory://",
        # Explicit: Flask-Limiter keeps the last app's setting on its one global object otherwise.
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": f"grants-test-{RUN_ID}-{uuid.uuid4().hex[:6]}",
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "PASSWORD_HASHING": "fast",
        "MIN_LEAD_DAYS": 0,  # tests publish short calls; tests/calls/test_lead_time.py sets it explicitly
    }


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grants")


@pytest.fixture(scope="session")
def sqlite_template(session_dir) -> Path:
    path = session_dir / "template.sqlite3"
    migrate(f"sqlite:///{path}", session_dir)
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A database of our own on the PostgreSQL server, created and dropped by this run."""
    admin_url = _sqlalchemy_url(PG_URL)
    try:
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001  (any connection failure means: not reachable)
        unavailable("PostgreSQL", f"{PG_URL}: {type(exc).__name__}")
    name = f"grants_test_{RUN_ID}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate(url, Path("/tmp"))
    yield url
    with engine.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    engine.dispose()


REFERENCE_TABLES = ("alembic_version", "theme")  # filled by the migrations themselves


_PG_ENGINES: dict[str, sa.engine.Engine] = {}
_PG_RESET: dict[str, str] = {}


def _truncate_pg(url: str) -> None:
    """Empty every table and restart every id at 1, in one round trip. DELETE is ~30 times faster
    than TRUNCATE on these small tables (TRUNCATE rewrites each table's files and waits for an
    exclusive lock)."""
    engine = _PG_ENGINES.get(url)
    if engine is None:
        engine = _PG_ENGINES[url] = sa.create_engine(url, poolclass=sa.pool.NullPool)
    statement = _PG_RESET.get(url)
    if statement is None:
        statement = _PG_RESET[url] = _reset_statement(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)


def _reset_statement(engine) -> str:
    """Every table of the schema (the migrations' own, not only the models') but the reference ones,
    then every sequence. As a superuser the session runs as a replica for this transaction: neither
    the foreign keys' triggers nor the audit log's append-only trigger fire, so the order does not
    matter; otherwise the audit log is truncated and the rest deleted in dependency order."""
    from grants import models  # noqa: F401  (every table registered)
    from grants.extensions import db

    with engine.connect() as conn:
        superuser = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
        tables = set(conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                     .scalars()) - set(REFERENCE_TABLES)  # fmt: skip
        sequences = [
            name
            for name in conn.execute(sa.text("SELECT sequence_name FROM information_schema.sequences")).scalars()
            if not name.startswith(tuple(f"{table}_" for table in REFERENCE_TABLES))
        ]
    ordered = [t.name for t in reversed(db.metadata.sorted_tables) if t.name in tables]
    ordered += sorted(tables - set(ordered))
    if superuser:
        parts = ["SET LOCAL session_replication_role = replica"] + [f'DELETE FROM "{name}"' for name in ordered]
    else:  # the audit log refuses DELETE by a row trigger (append-only); TRUNCATE is not a row event
        parts = ["TRUNCATE audit_event"] + [f'DELETE FROM "{name}"' for name in ordered if name != "audit_event"]
    if sequences:
        parts.append("SELECT " + ", ".join(f"setval('\"{s}\"', 1, false)" for s in sequences))
    return "; ".join(parts)


@pytest.fixture(params=["postgresql"])
def database_url(request, tmp_path) -> str:
    """PostgreSQL, the production database. SQLite (the embedded default of `make run`) is asked
    for explicitly: the demo, its crawl and the migrations run on it too."""
    if request.param == "sqlite":
        target = tmp_path / "db.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (so its own `g`, login and DB session), as in
    production, even while the test holds an app context open for its own queries."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


_TEMPLATE_CODE: dict[tuple, dict[str, bytes]] = {}


def _share_template_code(app) -> None:
    """Every app compiles each template it renders (about 10 ms each) into its own Jinja
    environment. The apps of a run share the compiled code through Jinja's bytecode cache, one
    cache per way of compiling (a changed template file has another checksum: compiled anew)."""
    import jinja2

    env = app.jinja_env
    how = (tuple(sorted(env.extensions)), env.trim_blocks, env.lstrip_blocks, env.keep_trailing_newline,
           env.newline_sequence, env.optimized, env.is_async, env.block_start_string, env.variable_start_string,
           env.comment_start_string, env.line_statement_prefix, env.line_comment_prefix,
           getattr(env.finalize, "__qualname__", env.finalize), getattr(env.autoescape, "__qualname__", env.autoescape),
           env.undefined)  # fmt: skip
    codes = _TEMPLATE_CODE.setdefault(how, {})

    class Shared(jinja2.BytecodeCache):
        def load_bytecode(self, bucket):
            if bucket.key in codes:
                bucket.bytecode_from_string(codes[bucket.key])

        def dump_bytecode(self, bucket):
            codes[bucket.key] = bucket.bytecode_to_string()

    env.bytecode_cache = Shared()


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def factory(url: str, **overrides):
        from grants import create_app

        config = _base_config(url, tmp_path) | overrides
        app = create_app(config)
        app.test_client_class = FreshContextClient
        _share_template_code(app)
        apps.append(app)
        return app

    yield factory
    from grants.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app, database_url):
    app = make_app(database_url)
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


# --- the demo round, seeded once per run ----------------------------------------------------


@contextmanager
def _locked(path: Path):
    """One process at a time (the xdist workers share the folder the lock file is in)."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _seed_demo(url: str, instance: Path) -> None:
    from grants import create_app
    from grants.demo import seed
    from grants.extensions import db

    app = create_app(_base_config(url, instance))
    with app.app_context():
        seed(only_if_empty=False)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _pg_admin():
    return sa.create_engine(_sqlalchemy_url(PG_URL), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def _drop_pg(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )  # fmt: skip
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory, sqlite_template):
    """demo_database("postgresql" | "sqlite", folder) -> URL of a database of its own holding the
    demo round (grants.demo.seed), with its files (letters, evidence) in `folder`, the instance
    folder of `_base_config(url, folder)`. The demo is seeded once per run — by the first xdist
    worker to ask; the others wait for it — and copied: PostgreSQL copies a template database,
    SQLite a file. Seeding takes 10–25 s; a copy well under a second. Ask for `pg_database` beside
    it for PostgreSQL (the server is checked there, and counted)."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    run = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_TESTRUNUID", ""))[:12] or RUN_ID
    seeded: dict[str, Path] = {}
    made: list[str] = []
    admin = None

    def copy(dialect: str, folder: Path) -> str:
        nonlocal admin
        template = shared / f"demo-{dialect}"
        folder.mkdir(parents=True, exist_ok=True)
        if dialect == "sqlite":
            with _locked(shared / "demo-sqlite.lock"):
                if not (template / "ready").exists():
                    shutil.rmtree(template, ignore_errors=True)
                    template.mkdir()
                    shutil.copy(sqlite_template, template / "demo.sqlite3")
                    _seed_demo(f"sqlite:///{template / 'demo.sqlite3'}", template)
                    (template / "ready").write_text("")
                shutil.copytree(template, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("ready"))
            return f"sqlite:///{folder / 'demo.sqlite3'}"
        admin = admin or _pg_admin()
        name = f"grants_demo_{run}"
        with _locked(shared / "demo-postgresql.lock"):
            with admin.connect() as conn:
                exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not (exists and (template / "ready").exists()):
                shutil.rmtree(template, ignore_errors=True)
                template.mkdir()
                _drop_pg(admin, name)
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                seeded["postgresql"] = template  # this worker made it: this worker drops it
                url = make_url(_sqlalchemy_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
                migrate(url, template)
                _seed_demo(url, template)
                (template / "ready").write_text(name)
            target = f"grants_test_{RUN_ID}_demo{len(made) + 1}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{name}"'))
            made.append(target)
            shutil.copytree(template, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("ready"))
        return make_url(_sqlalchemy_url(PG_URL)).set(database=target).render_as_string(hide_password=False)

    yield copy
    if admin is not None:
        for name in made:
            _drop_pg(admin, name)
        if "postgresql" in seeded:
            with _locked(shared / "demo-postgresql.lock"):
                (seeded["postgresql"] / "ready").unlink(missing_ok=True)
                _drop_pg(admin, f"grants_demo_{run}")
        admin.dispose()


# --- helpers -----------------------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, url: str) -> str:
    response = client.get(url)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {response.status_code})"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: dict, *, form_url: str | None = None, **kwargs):
    """Submit like a browser: read the CSRF token from the page that shows the form."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def read_outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.exists() else []
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]


def text_of(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def link_in(msg, path_part: str) -> str:
    match = re.search(r"https?://\S*" + re.escape(path_part) + r"\S*", text_of(msg))
    assert match, f"no link containing {path_part} in: {text_of(msg)}"
    return match.group(0)


@pytest.fixture
def users():
    """Creator of verified users in the current app: users('a@x.kz', role='manager')."""
    from grants.accounts import services
    from grants.accounts.models import Role

    def create(email: str, role: str = "applicant", locale: str = "ru", verified: bool = True):
        return services.create_user(
            email=email, password="correct-horse-42", name=email.split("@")[0], roles={Role(role)},
            verified=verified, locale=locale,
        )  # fmt: skip

    return create


PASSWORD = "correct-horse-42"


def login(client, email: str, password: str = PASSWORD):
    """Log in through the forms, the second factor too when the account has or needs one (managers
    and admins): the code is computed like an authenticator app would, from the secret the setup
    page shows or the one stored. Returns the redirect to the page asked for."""
    response = post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    step = response.headers["Location"]
    if step.endswith("/login/code"):
        response = post_form(client, "/login/code", {"code": two_factor_code(client.application, email, password)})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    elif step.endswith("/login/setup"):
        html = client.get("/login/setup").get_data(as_text=True)
        secret = SECRET_RE.search(html).group(1).replace(" ", "")
        response = post_form(client, "/login/setup", {"code": totp_now(secret)})
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="recovery-codes"' in page, page[:2000]
        target = re.search(r'<a class="button" href="([^"]+)"', page).group(1)
        response = client.get("/login", query_string={"next": unescape(target)})  # signed in: redirects there
        assert response.status_code == 302
    return response


def api_login(client, email: str, password: str = PASSWORD):
    """POST /api/v1/auth/token as a script would: with the TOTP code when the account has one, and for
    a manager or admin who has none yet, after setting it up (as they would on the website first).
    Returns the response (a refusal as it came, e.g. a wrong password)."""
    from grants.accounts import services, two_factor
    from grants.extensions import db

    def ask(otp=None):
        body = {"email": email, "password": password} | ({"otp": otp} if otp else {})
        return client.post("/api/v1/auth/token", json=body)

    response = ask()
    code = ((response.json or {}).get("error") or {}).get("code") if response.is_json else None
    if code == "two_factor_setup_required":
        import pyotp

        with client.application.app_context():
            two_factor.enable_with_known_secret(services.find_by_email(email), pyotp.random_base32())
            db.session.commit()
        code = "otp_required"
    if code == "otp_required":
        response = ask(two_factor_code(client.application, email, password))
    return response


SECRET_RE = re.compile(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<')


def totp_now(secret: str, step_offset: int = 0) -> str:
    """What an authenticator app shows now (the programme clock, which tests may move)."""
    import pyotp

    moment = clock.now() + timedelta(seconds=30 * step_offset)
    return pyotp.TOTP(secret).at(moment)


def two_factor_code(app, email: str, password: str = PASSWORD) -> str:
    """A code the server will accept for `email` now: the current or next 30-second step if not used
    yet (a code is never accepted twice), else a fresh recovery code."""
    from grants.accounts import services, two_factor

    with app.app_context():
        user = services.find_by_email(email)
        row = two_factor.of(user)
        now = int(clock.now().timestamp()) // 30
        for offset in (0, 1):
            if now + offset > row.last_step:
                return totp_now(row.secret, offset)
        from grants.extensions import db

        fresh = two_factor._new_recovery_codes(user)[0]  # as the person would, with a code from their app
        db.session.commit()
        return fresh


def org_data(**overrides) -> dict:
    from grants.organizations.bin import complete_bin

    data = {
        "name": "Эко Дала",
        "bin": complete_bin("20054000777"),
        "legal_form": "public_fund",
        "region": "kyzylorda",
        "settlement": "rural",
        "settlement_name": "Жосалы",
        "staff_full_time": "2",
        "board_total": "5",
        "board_women": "3",
        "board_youth": "1",
        "head_gender": "female",
        "head_birth_year": "1990",
    }
    data.update(overrides)
    return data


@pytest.fixture
def organization():
    from grants.organizations import services

    def create(owner, **overrides):
        values = org_data(**overrides)
        return services.create(owner, values)

    return create


# --- Redis, SMTP, Chromium -------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable("Redis", f"{REDIS_URL}: {type(exc).__name__}")
    prefix = f"grants-test-{RUN_ID}"
    yield REDIS_URL, prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


class _Collector:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.messages.append(msg)
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0):
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        assert len(self.messages) >= count, f"expected {count} emails, got {len(self.messages)}"
        return self.messages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    collector = _Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.hostname, controller.port, collector
    controller.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", f"{CHROMIUM} not found (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield browser
        browser.close()


def browser_login(context, base: str, email: str, password: str = PASSWORD):
    """A new page in `context`, signed in through the real login form."""
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    complete_two_factor(page, base, email, password)
    return page


def complete_two_factor(page, base: str, email: str, password: str = PASSWORD) -> None:
    """After the password step in a browser: set TOTP up from the secret the page shows, or enter
    the current code (the secret read from the database of the app served at `base`)."""
    if page.url.endswith("/login/setup"):
        secret = page.inner_text("#totp-secret").replace(" ", "")
        page.fill("#code", totp_now(secret))
        page.click("main button[type=submit]")
        page.click("main a.button")  # "I have saved the codes, continue"
    elif page.url.endswith("/login/code") and base in SERVED:
        page.fill("#code", two_factor_code(SERVED[base], email, password))
        page.click("main button[type=submit]")
    elif page.url.endswith("/login/code"):  # a server of the test's own (the demo): its printed keys
        from grants.demo import TOTP_SECRETS

        for offset in (0, 1):  # this step's code, or the next one if it was just used
            page.fill("#code", totp_now(TOTP_SECRETS[email], offset))
            page.click("main button[type=submit]")
            if not page.url.endswith("/login/code"):
                break


SERVED: dict = {}  # base URL -> the app a live server serves (the login helpers read its database)


@pytest.fixture
def live_server():
    """Serve an app over real HTTP in a thread: live_server(app) -> base URL."""
    from werkzeug.serving import make_server

    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        base = f"http://127.0.0.1:{server.server_port}"
        SERVED[base] = app
        return base

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(timeout=5)


# --- reporting: how many tests really used each service -------------------------------

SERVICE_FIXTURES = {
    "sqlite_template": "SQLite",
    "pg_database": "PostgreSQL",
    "redis_url": "Redis",
    "smtp_server": "SMTP",
    "browser": "Chromium",
    "s3_server": "S3",
}


def pytest_runtest_logreport(report):
    # Runs where the run is reported: in this process, or in the controller under pytest-xdist
    # (the fixtures travel in user_properties, which xdist sends back from its workers).
    if report.when == "call" and report.passed:
        fixtures = dict(report.user_properties).get("service_fixtures", ())
        for fixture, service in SERVICE_FIXTURES.items():
            if fixture in fixtures:
                USED[service] += 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    names = set(item.fixturenames)
    callspec = getattr(item, "callspec", None)
    if callspec and callspec.params.get("database_url") == "postgresql":
        names.add("pg_database")
    if callspec and callspec.params.get("database_url") == "sqlite":
        names.add("sqlite_template")
    if report.when == "call":
        report.user_properties.append(("service_fixtures", sorted(names & set(SERVICE_FIXTURES))))


# --- order under pytest-xdist: the longest files first -------------------------------------
# `--dist loadfile` hands out whole files in order. pytest-xdist's default order (most tests
# first) put these one-test files of 30–90 s last, so one worker ran them alone at the end while
# the other sat idle. Longest first (then most tests first) leaves only short files for the end.
# A new file that runs for more than ~15 s belongs in this list (measure with --durations).
SLOW_FIRST = (
    "tests/api/test_fuzz.py",  # the demo on PostgreSQL, seeded while the other worker seeds it on SQLite…
    "tests/test_phone_layout.py",  # …for this one (tests/conftest.py `demo_database`)
    "tests/packaging/test_wheel.py",
    "tests/security/test_schemathesis.py",
    "tests/scaleout/test_two_web_hosts.py",
    "tests/test_accessibility.py",
    "tests/applications/test_browser_offline.py",
    "tests/test_browser_communication.py",
    "tests/test_demo_crawl.py",
    "tests/channels/test_delivery.py",
    "tests/alerts/test_worker_alerts.py",
    "tests/applications/test_browser_applications.py",
    "tests/clarifications/test_clarifications.py",
    "tests/reviews/test_browser_reviews.py",
    "tests/test_demo.py",
    "tests/reviews/test_integrity.py",
)


def pytest_configure(config):
    if getattr(config.option, "dist", "no") == "loadfile":  # the controller: keep the order below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a run in one process keeps pytest's own order
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    rank = {path: n for n, path in enumerate(SLOW_FIRST)}

    order = sorted(files, key=lambda path: (rank.get(path, len(SLOW_FIRST)), -len(files[path])))
    items[:] = [item for path in order for item in files[path]]


def pytest_terminal_summary(terminalreporter):
    parts = [f"{service}: {USED[service]}" for service in SERVICE_FIXTURES.values()]
    terminalreporter.write_line("real services used by passing tests — " + ", ".join(parts))
    for message in _UNAVAILABLE.values():
        terminalreporter.write_line("SKIPPED SERVICE: " + message)


# --- calls and the clock (shared by calls, applications, ...) ------------------------------

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


def call_data(**overrides) -> dict:
    data = {
        "code": "SG-2027-1",
        "title": {"ru": "Чистая вода", "kk": "Таза су", "en": "Clean water"},
        "description": {"ru": "Описание", "kk": "Сипаттама"},
        "envelope": 100_000_000,
        "min_amount": 1_000_000,
        "max_amount": 5_000_000,
        "opens_at": (NOW - timedelta(days=1)).isoformat(),
        "closes_at": (NOW + timedelta(days=30)).isoformat(),
        "themes": ["water"],
        "regions": [],
        "criteria": [
            {"key": "relevance", "title": {"ru": "Актуальность", "kk": "Өзектілігі"}, "weight": 30, "max_score": 10},
            {"key": "feasibility", "title": {"ru": "Реалистичность", "kk": "Орындалуы"}, "weight": 40, "max_score": 10},
            {"key": "impact", "title": {"ru": "Результаты", "kk": "Нәтижелері"}, "weight": 30, "max_score": 5},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def frozen():
    """Controlled clock: starts at NOW; .to(moment) moves it."""
    with clock.travel(NOW) as travel:
        yield travel


@pytest.fixture
def manager(users):
    return users("manager@example.kz", role="manager")


@pytest.fixture
def make_call(manager):
    from grants.calls import services

    def make(publish: bool = False, **overrides):
        call = services.create(manager, call_data(**overrides))
        if publish:
            services.publish(manager, call)
        return call

    return make
