"""Issue 13 ("Communication"), item 9: links in emails, feeds, .ics and PDFs open whatever port
`make run` was given. Production sets GRANTS_BASE_URL; without it the links follow the port the
app is served on (PORT) and, inside a request, the address the request came to."""

import re

from conftest import link_in, read_outbox

from grants.config import from_environment


def test_without_a_base_url_the_links_follow_the_port(monkeypatch, tmp_path):
    monkeypatch.delenv("GRANTS_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "5101")
    config = from_environment(tmp_path)
    assert config["BASE_URL"] == "http://127.0.0.1:5101" and config["BASE_URL_FROM_REQUEST"] is True
    monkeypatch.setenv("GRANTS_BASE_URL", "https://grants.example.kz/")
    config = from_environment(tmp_path)
    assert config["BASE_URL"] == "https://grants.example.kz" and config["BASE_URL_FROM_REQUEST"] is False


def test_an_email_sent_from_a_request_links_to_where_the_request_came(app, client):
    app.config["BASE_URL_FROM_REQUEST"] = True
    page = client.get("/register", base_url="http://127.0.0.1:5101")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    client.post("/register", base_url="http://127.0.0.1:5101", data={
        "csrf_token": token, "name": "Әсел", "email": "asel@example.kz", "password": "көкшетау-көлдері-2026",
        "confirm": "көкшетау-көлдері-2026", "locale": "kk"})  # fmt: skip
    [message] = read_outbox(app)
    assert link_in(message, "/verify-email/").startswith("http://127.0.0.1:5101/verify-email/")


def test_the_feed_and_calendar_use_the_same_base(app, client):
    app.config["BASE_URL_FROM_REQUEST"] = True
    feed = client.get("/calls/feed.atom", base_url="http://127.0.0.1:5101").get_data(as_text=True)
    assert "http://127.0.0.1:5000" not in feed and "http://127.0.0.1:5101/" in feed
    calendar = client.get("/calls/deadlines.ics", base_url="http://127.0.0.1:5101")
    assert calendar.status_code == 200 and b"127.0.0.1:5000" not in calendar.data


def test_production_links_ignore_the_request_host(app, client):
    app.config.update(BASE_URL="https://grants.example.kz", BASE_URL_FROM_REQUEST=False)
    feed = client.get("/calls/feed.atom", base_url="http://10.0.0.7:8000").get_data(as_text=True)
    assert "https://grants.example.kz/" in feed and "10.0.0.7" not in feed
