"""The wheel runs without the checkout: built once for this module (sdist, then the wheel from the
sdist, as a release is built), it carries the templates, compiled catalogs, migrations, static files
and the password list, and no `worker` package; installed in an empty venv outside the checkout it
migrates a fresh PostgreSQL database and serves /calls in Russian and Kazakh from its own catalogs."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from babel.messages.pofile import read_po
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
VENV_SITE = Path(sa.__file__).resolve().parents[1]  # the checkout venv's site-packages (dependencies)
DATA = "grants/_data"


def _files(folder: Path, suffixes: tuple[str, ...] | None = None) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and (suffixes is None or path.suffix in suffixes)
    }


def _msgstr(lang: str, msgid: str) -> str:
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        text = read_po(handle, locale=lang)[msgid].string
    assert text and text != msgid
    return text


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRANTS_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        cwd=out,
    )
    (built,) = out.glob("grants-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_carries_every_resource_and_no_worker_package(wheel, names):
    inside = lambda prefix: {n.removeprefix(prefix) for n in names if n.startswith(prefix)}  # noqa: E731
    assert inside(f"{DATA}/templates/") == _files(ROOT / "templates")
    assert inside(f"{DATA}/migrations/") == _files(ROOT / "migrations")
    assert "versions/0023_security_findings.py" in inside(f"{DATA}/migrations/")
    assert inside(f"{DATA}/translations/") == {f"{lang}/LC_MESSAGES/messages.mo" for lang in ("kk", "ru", "en")}
    assert inside("grants/static/") == _files(ROOT / "grants" / "static")
    assert "grants/accounts/breached_passwords.txt.gz" in names
    assert "grants/console.py" in names
    assert not [n for n in names if n.startswith(("worker/", "tests/")) or "__pycache__" in n or n.endswith(".po")]
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("grants-0.1.0.dist-info/entry_points.txt").decode()
        catalog = archive.read(f"{DATA}/translations/ru/LC_MESSAGES/messages.mo")
    assert "grants = grants.console:main" in entry_points
    assert _msgstr("ru", "Calls for proposals").encode() in catalog  # compiled at build time


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """An empty venv outside the checkout with only the wheel installed; the dependencies come from
    the checkout venv's site-packages as a plain path (its .pth files, so the checkout's editable
    install, are not processed)."""
    venv = tmp_path_factory.mktemp("venv")
    assert ROOT not in venv.parents
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())  # fmt: skip
    (site / "dependencies.pth").write_text(f"{VENV_SITE}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
        env=_clean_env(),
    )  # fmt: skip
    return venv


@pytest.fixture
def fresh_database(pg_database):
    """An empty database of its own (pg_database: the server is there, or the test says why not)."""
    admin_url = make_url(pg_database)
    name = f"grants_wheel_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _get(port: int, path: str, language: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Language": language})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def _wait_until_serving(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"`grants serve` did not listen on {port} within {seconds} s")


def test_installed_wheel_migrates_and_serves_calls_from_its_own_catalogs(installed, fresh_database, tmp_path):
    python, grants = installed / "bin" / "python", installed / "bin" / "grants"
    work = tmp_path / "work"  # the operator's folder: no checkout here, instance/ goes here
    work.mkdir()
    env = _clean_env(GRANTS_DATABASE_URL=fresh_database, GRANTS_TASKS_EAGER="1")

    # The package, its catalogs and the Celery app of `grants worker` all come from the venv (no
    # `worker` package exists here, so nothing in grants may import it).
    probe = (
        "import grants, grants._data as d, grants.worker as w; print(grants.__file__); print(d.resource('translations'));"
        "print(w.__file__); print('grants.send_notification' in w.celery.tasks)"
    )
    *where, registered = subprocess.check_output([str(python), "-c", probe], cwd=work, env=env, text=True).split()
    assert all(Path(p).is_relative_to(installed) for p in where), where
    assert registered == "True"

    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    upgrade = subprocess.run([str(grants), "db", "upgrade"], cwd=work, env=env, capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr
    engine = sa.create_engine(fresh_database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    engine.dispose()
    assert (work / "instance").is_dir()  # the default instance folder is the working directory's

    port = _free_port()
    server = subprocess.Popen(
        [str(grants), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_until_serving(port, server)
        for language in ("ru", "kk"):
            status, page = _get(port, "/calls", language)
            assert status == 200
            assert _msgstr(language, "Calls for proposals") in page
        status, css = _get(port, "/static/style.css", "ru")
        assert status == 200 and css == (ROOT / "grants" / "static" / "style.css").read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)
