"""The manager's lists are paginated and query the same at 3 and 60 applications; the
applicant's pages query the same with 3 and 60 applications too."""

from __future__ import annotations

import re

import pytest
from conftest import login
from test_queries import counting


def _get(client, path: str) -> tuple[int, str]:
    with counting() as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(statements), response.get_data(as_text=True)


@pytest.fixture
def rounds(bulk_round):
    return bulk_round(3, "small"), bulk_round(60, "large")


@pytest.mark.parametrize("page", ["review", "ranking"])
def test_manager_list_queries_the_same_at_3_and_60_applications_and_links_its_pages(rounds, client, page):
    small, large = rounds
    login(client, "manager@example.kz")
    for r in rounds:
        client.get(f"/manage/calls/{r.call_id}/{page}")  # the ranking stores the bulk-loaded reviews' totals once
    few, html_few = _get(client, f"/manage/calls/{small.call_id}/{page}")
    many, html = _get(client, f"/manage/calls/{large.call_id}/{page}")
    assert few == many, (page, few, many)
    assert 'rel="next"' not in html_few
    following = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "page=2" in following
    second, html2 = _get(client, following)
    assert second == many
    assert 'rel="prev"' in html2 and 'rel="next"' not in html2
    if page == "review":  # by receipt number
        assert "SP-large-0050" in html and "SP-large-0051" in html2 and "SP-large-0050" not in html2
    else:  # by rank
        assert re.findall(r"<tr[^>]*><td>(\d+)</td>", html)[-1] == "50"
        assert re.findall(r"<tr[^>]*><td>(\d+)</td>", html2)[0] == "51"


def test_review_stage_page_shows_fifty_applications_and_their_seats_only(rounds, client):
    _small, large = rounds
    login(client, "manager@example.kz")
    _count, html = _get(client, f"/manage/calls/{large.call_id}/review")
    assert len(re.findall(r'<tr id="assignment-', html)) == 50 * 3
    assert len(re.findall(r"SP-large-\d{4}", html)) == 50
    _count, html = _get(client, f"/manage/calls/{large.call_id}/review?page=2")
    assert len(re.findall(r'<tr id="assignment-', html)) == 10 * 3
    assert len(re.findall(r"SP-large-\d{4}", html)) == 10


def test_applicant_pages_query_the_same_with_3_and_60_applications(rounds, app):
    small, large = rounds
    counts = []
    for r in (small, large):
        client = app.test_client()
        login(client, r.lead_email)
        dashboard, html = _get(client, "/applications")
        assert html.count("/applications/") >= len(r.application_ids)
        view, _html = _get(client, f"/applications/{r.application_ids[-1]}")
        counts.append((dashboard, view))
    assert counts[0] == counts[1], counts


def test_review_stage_draws_the_reviewer_list_only_for_the_seat_being_reassigned(bulk_round, client):
    owed = bulk_round(60, "owed", status="declared")
    login(client, "manager@example.kz")
    few, html = _get(client, f"/manage/calls/{owed.call_id}/review")
    assert '<select name="reviewer_id"' not in html
    links = re.findall(r'href="([^"]*reassign=(\d+)[^"]*)"', html)
    assert len(links) == 50 * 3
    href, seat = links[0]
    assert href.endswith(f"#assignment-{seat}")
    many, html = _get(client, href.replace("&amp;", "&").split("#")[0])
    assert html.count('<select name="reviewer_id"') == 1
    assert re.search(rf'name="assignment_id" value="{seat}">\s*<select name="reviewer_id"', html)
    assert few == many


def test_the_api_list_of_applications_is_cut_in_sql_and_queries_the_same_at_3_and_60(rounds, client):
    """A manager's GET /api/v1/applications: the page is cut by the database (not after loading
    every application of every call), the total counts all of them."""
    from conftest import api_login

    small, large = rounds
    token = api_login(client, "manager@example.kz").json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    counts = []
    for r in rounds:
        with counting() as statements:
            answer = client.get(f"/api/v1/applications?call_id={r.call_id}&per_page=20", headers=headers)
        assert answer.status_code == 200
        assert answer.json["total"] == len(r.application_ids)
        assert [item["id"] for item in answer.json["items"]] == sorted(r.application_ids)[:20]
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    last = client.get(f"/api/v1/applications?call_id={large.call_id}&per_page=20&page=3", headers=headers).json
    assert [item["id"] for item in last["items"]] == sorted(large.application_ids)[40:60]
