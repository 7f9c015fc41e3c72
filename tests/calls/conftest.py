from datetime import UTC, datetime, timedelta

import pytest

from grants.core import clock

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
