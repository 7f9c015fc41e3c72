"""A consortium of two NGOs with a draft application for an open call (clock frozen)."""

from dataclasses import dataclass

import pytest
from calls.conftest import call_data

from grants.applications import services as applications
from grants.calls import services as calls
from grants.consortia import services as consortia


@dataclass
class World:
    call: object
    lead_user: object
    partner_user: object
    other_user: object
    manager: object
    lead_org: object
    partner_org: object
    other_org: object
    consortium: object
    app: object


def complete(world) -> dict:
    lead, partner = world.lead_org.id, world.partner_org.id
    return {
        "title": "Таза Арал", "summary": "Қысқаша мазмұны", "problem": "Мәселе", "objectives": "Мақсаттар",
        "activities": "Іс-шаралар", "requested_amount": 2_000_000, "language": "kk",
        "workplan": [{"activity": "Оқыту", "start_month": 1, "end_month": 3}],
        "budget_lines": [
            {"category": "events", "description": "Семинар", "organization_id": lead, "quantity": "2", "unit_cost": 500_000},
            {"category": "staff", "description": "Үйлестіруші", "organization_id": partner, "quantity": "10",
             "unit_cost": 100_000},
        ],
        "indicators": [{"name": "Қатысушылар", "unit": "адам", "baseline": "0", "target": "40"}],
        "partner_roles": {str(partner): "Еріктілерді оқытады"},
        "declarations": {"truthful": True, "no_double_funding": True, "consent": True},
    }  # fmt: skip


@pytest.fixture
def world(app, frozen, users, organization, manager):
    from grants.organizations.bin import complete_bin

    lead_user = users("lead@example.kz", locale="kk")
    partner_user = users("partner@example.kz")
    other_user = users("other@example.kz")
    lead_org = organization(lead_user, name="Арал ҮЕҰ", bin=complete_bin("20054000777"))
    partner_org = organization(partner_user, name="Жас Дала", bin=complete_bin("21054000888"), region="aktobe")
    other_org = organization(other_user, name="Басқа ҮЕҰ", bin=complete_bin("22054000999"))
    call = calls.create(manager, call_data())
    calls.publish(manager, call)
    consortium = consortia.create(lead_user, name="Арал консорциумы", lead_organization_id=lead_org.id,
                                  partner_organization_ids=[partner_org.id])  # fmt: skip
    consortia.respond(partner_user, consortium, organization_id=partner_org.id, accept=True)
    app_ = applications.create(lead_user, call, consortium)
    return World(call, lead_user, partner_user, other_user, manager, lead_org, partner_org, other_org, consortium, app_)


@pytest.fixture
def ready(world):
    applications.save(world.lead_user, world.app, complete(world), version=world.app.version)
    return world
