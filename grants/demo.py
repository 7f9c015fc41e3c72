"""Demo data for `make run`: a manager, an admin, a reviewer, two NGOs with users."""

from __future__ import annotations

from .accounts import services as accounts
from .accounts.models import Role, User
from .extensions import db
from .organizations import services as organizations
from .organizations.bin import complete_bin

PASSWORD = "demo-grants-2026"

PEOPLE = [
    ("manager@demo.kz", "Айгерим Нурланова", {Role.MANAGER}, "ru"),
    ("admin@demo.kz", "Admin", {Role.ADMIN, Role.MANAGER}, "en"),
    ("reviewer@demo.kz", "Сәуле Омарова", {Role.REVIEWER}, "kk"),
    ("aral@demo.kz", "Гульнара Ахметова", {Role.APPLICANT}, "ru"),
    ("zhasyl@demo.kz", "Ерлан Сейітов", {Role.APPLICANT}, "kk"),
    ("partner@demo.kz", "Марина Ким", {Role.APPLICANT}, "ru"),
]


def seed(only_if_empty: bool = True):
    if only_if_empty and db.session.execute(db.select(User.id).limit(1)).first():
        return None
    users = {}
    for email, name, roles, locale in PEOPLE:
        users[email] = accounts.create_user(
            email=email, password=PASSWORD, name=name, roles=roles, verified=True, locale=locale
        )
    aral = organizations.create(
        users["aral@demo.kz"],
        {
            "name": "ОФ «Арал – чистая вода»", "bin": complete_bin("15034000123"), "legal_form": "public_fund",
            "region": "kyzylorda", "settlement": "rural", "settlement_name": "Аральск",
            "description": "Чистая вода и восстановление водно-болотных угодий Приаралья.",
            "staff_full_time": 3, "volunteers": 25, "head_gender": "female", "head_birth_year": 1984,
            "board_total": 5, "board_women": 3, "board_youth": 1,
        },
    )  # fmt: skip
    organizations.create(
        users["zhasyl@demo.kz"],
        {
            "name": "«Жасыл Ел Жастары» қоғамдық бірлестігі", "bin": complete_bin("19084000456"),
            "legal_form": "public_association", "region": "turkistan", "settlement": "urban",
            "settlement_name": "Түркістан", "description": "Жастардың экологиялық білімі және қалдықтарды сұрыптау.",
            "staff_full_time": 2, "staff_part_time": 2, "volunteers": 40, "head_gender": "male",
            "head_birth_year": 1998, "board_total": 4, "board_women": 2, "board_youth": 3,
        },
    )  # fmt: skip
    from .organizations.models import Membership

    db.session.add(Membership(user_id=users["partner@demo.kz"].id, organization_id=aral.id, role="editor"))
    db.session.commit()
    return [(email, PASSWORD, ",".join(sorted(r.value for r in roles))) for email, _n, roles, _l in PEOPLE]
