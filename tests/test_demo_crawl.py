"""Every page of the demo answers: signed out and as each demo login, follow every link the pages
show (on the embedded SQLite database `make run` uses) and expect no error anywhere."""

import re
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest
from conftest import FreshContextClient, _base_config, login

from grants.extensions import db

LINK = re.compile(r'<a\b[^>]*\bhref="([^"]+)"', re.IGNORECASE)
# Links that change state or leave the session: never followed by the crawler.
SKIP = ("/logout", "/lang/", "/unsubscribe", "/static/")
MAX_PAGES = 400  # per login, a safety stop: the demo has fewer distinct pages than this per role


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, demo_database):
    from grants import create_app

    folder = tmp_path_factory.mktemp("demo-crawl")
    app = create_app(_base_config(demo_database("sqlite", folder), folder))
    app.test_client_class = FreshContextClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def crawl(client) -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = ["/"]
    paths: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        path = urlsplit(url).path
        if path in paths:  # each page once (filters and pages of a list are the same page)
            continue
        paths.add(path)
        response = client.get(url, headers={"Accept-Language": "ru"})
        seen[url] = response.status_code
        if "text/html" not in (response.content_type or ""):
            continue
        for href in LINK.findall(response.get_data(as_text=True)):
            href = urldefrag(unescape(href))[0]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not href.startswith("/") or href.startswith(SKIP):
                continue
            if href not in seen and href not in queue:
                queue.append(href)
    return seen


@pytest.mark.parametrize(
    "email",
    [None, "manager@demo.kz", "admin@demo.kz", "reviewer@demo.kz", "lead0@demo.kz", "lead3@demo.kz",
     "aral@demo.kz", "zhasyl@demo.kz", "partner0@demo.kz"],
)  # fmt: skip
def test_every_page_the_demo_links_to_answers(demo_app, email):
    from grants.demo import PASSWORD

    client = demo_app.test_client()
    if email:
        login(client, email, PASSWORD)
    seen = crawl(client)
    broken = {url: status for url, status in seen.items() if status >= 400}
    assert not broken, f"{email or 'signed out'}: {broken}"
    assert len(seen) >= 5, seen  # the crawl really went somewhere
    assert len(seen) < MAX_PAGES, "the safety stop was reached: some pages were not visited"
