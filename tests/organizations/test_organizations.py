import io

import pytest
import sqlalchemy as sa
from conftest import login, org_data, post_form

from grants.audit.models import AuditEvent
from grants.extensions import db
from grants.organizations.bin import complete_bin, is_valid_bin
from grants.organizations.models import Membership, Organization

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


@pytest.fixture
def owner(users, client):
    user = users("owner@example.kz")
    login(client, "owner@example.kz")
    return user


def create(client, **overrides):
    return post_form(client, "/organizations/new", org_data(**overrides))


def test_created_organization_is_listed_and_the_creator_is_its_owner(client, owner):
    response = create(client)
    assert response.status_code == 302
    org = db.session.execute(db.select(Organization)).scalar_one()
    assert response.headers["Location"].endswith(f"/organizations/{org.id}")
    assert "Эко Дала" in client.get("/organizations").get_data(as_text=True)
    role = db.session.execute(db.select(Membership.role).filter_by(organization_id=org.id)).scalar_one()
    assert role == "owner"
    event = db.session.execute(db.select(AuditEvent).filter_by(action="organization.created")).scalar_one()
    assert event.actor_id == owner.id and event.after["bin"] == org.bin and event.ip == "127.0.0.1"


def test_wrong_bin_gets_a_clear_message_in_kazakh_and_nothing_is_saved(client, owner):
    client.get("/language/kk")
    bad = complete_bin("20054000777")[:-1] + str((int(complete_bin("20054000777")[-1]) + 1) % 10)
    response = create(client, bin=bad)
    assert response.status_code == 422
    assert "БСН" in response.get_data(as_text=True)
    assert count(Organization) == 0


def test_second_registration_of_a_bin_is_refused_with_a_hint(client, owner, users, app):
    create(client)
    other = app.test_client()
    users("second@example.kz")
    login(other, "second@example.kz")
    other.get("/language/en")
    response = create(other, name="Copy")
    assert response.status_code == 409
    assert "ask its owner to invite you" in response.get_data(as_text=True)
    assert count(Organization) == 1


def test_unknown_region_is_refused(client, owner):
    response = create(client, region="atlantis")
    assert response.status_code == 422
    assert count(Organization) == 0


def test_initiative_group_has_no_bin(client, owner):
    assert create(client, legal_form="initiative_group", bin=complete_bin("20054000777")).status_code == 422
    assert create(client, legal_form="initiative_group", bin="").status_code == 302
    assert db.session.execute(db.select(Organization.bin)).scalar_one() is None


def test_board_counts_cannot_exceed_the_total(client, owner):
    assert create(client, board_total="2", board_women="3").status_code == 422


def test_declaration_needs_evidence_and_accepts_a_real_pdf(client, owner):
    assert create(client, women_led="y").status_code == 422
    data = org_data(women_led="y")
    data["evidence"] = (io.BytesIO(PDF), "устав.pdf")
    response = post_form(client, "/organizations/new", data, content_type="multipart/form-data")
    assert response.status_code == 302
    org = db.session.execute(db.select(Organization)).scalar_one()
    assert org.women_led and not org.women_led_verified and len(org.evidence_sha256) == 64
    download = client.get(f"/organizations/{org.id}/evidence")
    assert download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_disguised_executable_is_refused_with_415(client, owner):
    data = org_data(women_led="y")
    data["evidence"] = (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "charter.pdf")
    client.get("/language/en")
    response = post_form(client, "/organizations/new", data, content_type="multipart/form-data")
    assert response.status_code == 415
    assert "not accepted" in response.get_data(as_text=True)
    assert count(Organization) == 0


def test_oversized_upload_is_refused_with_413(client, owner):
    data = org_data(youth_led="y")
    data["evidence"] = (io.BytesIO(PDF + b"0" * (10 * 1024 * 1024)), "big.pdf")
    response = post_form(client, "/organizations/new", data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert count(Organization) == 0


def test_owner_invites_a_member_who_accepts_by_link(app, client, owner, users):
    create(client)
    org = db.session.execute(db.select(Organization)).scalar_one()
    response = post_form(client, f"/organizations/{org.id}/members", {"email": "Editor@Example.kz", "role": "editor"},
                         form_url=f"/organizations/{org.id}")  # fmt: skip
    assert response.status_code == 302
    from conftest import link_in, read_outbox

    path = link_in(read_outbox(app)[-1], "/invitations/").replace("http://localhost", "")
    users("editor@example.kz")
    editor = app.test_client()
    login(editor, "editor@example.kz")
    assert editor.get(f"/organizations/{org.id}").status_code == 404
    assert post_form(editor, path, {}).status_code == 302
    assert editor.get(f"/organizations/{org.id}").status_code == 200
    assert post_form(editor, path, {}).status_code == 409


def test_invitation_cannot_be_taken_by_another_account(app, client, owner, users):
    create(client)
    org = db.session.execute(db.select(Organization)).scalar_one()
    post_form(client, f"/organizations/{org.id}/members", {"email": "editor@example.kz", "role": "editor"},
              form_url=f"/organizations/{org.id}")  # fmt: skip
    from conftest import link_in, read_outbox

    path = link_in(read_outbox(app)[-1], "/invitations/").replace("http://localhost", "")
    users("intruder@example.kz")
    intruder = app.test_client()
    login(intruder, "intruder@example.kz")
    assert post_form(intruder, path, {}).status_code == 400
    assert count(Membership) == 1


def test_manager_verifies_declarations_and_it_is_audited(app, client, owner, users):
    data = org_data(women_led="y", youth_led="y")
    data["evidence"] = (io.BytesIO(PDF), "decision.pdf")
    post_form(client, "/organizations/new", data, content_type="multipart/form-data")
    org = db.session.execute(db.select(Organization)).scalar_one()
    users("manager@example.kz", role="manager")
    manager = app.test_client()
    login(manager, "manager@example.kz")
    assert org.name in manager.get("/manage/organizations?pending=1").get_data(as_text=True)
    response = post_form(manager, f"/manage/organizations/{org.id}/verify", {"women_led": "y", "note": "устав"})
    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert org.women_led_verified and not org.youth_led_verified
    assert "organization.verified" in manager.get("/manage/audit?object_type=organization").get_data(as_text=True)
    # An edit of the declaration withdraws the verification.
    post_form(client, f"/organizations/{org.id}/edit", org_data(women_led="y"))
    db.session.expire_all()
    assert not db.session.get(Organization, org.id).women_led_verified


def test_audit_log_is_append_only_in_the_database(app, client, owner):
    create(client)
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("UPDATE audit_event SET action = 'forged'"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("DELETE FROM audit_event"))
        db.session.flush()
    db.session.rollback()
    assert db.session.execute(db.select(AuditEvent.action)).scalars().all() == ["user.created", "organization.created"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [("230440000010", True), ("230440000011", False), ("12345678901", False), ("23044000001a", False), ("", False)],
)
def test_bin_check_digit(value, valid):
    assert is_valid_bin(value) is valid


def test_bin_second_weight_sequence_is_used_when_the_first_gives_ten():
    # Find 11 digits where the first pass gives 10, and check the completed BIN validates.
    from grants.organizations.bin import _FIRST, check_digit

    for n in range(10**10, 10**10 + 5000):
        digits = f"{n:011d}"
        if sum(int(d) * w for d, w in zip(digits, _FIRST, strict=True)) % 11 == 10:
            digit = check_digit(digits)
            if digit is not None:
                assert is_valid_bin(digits + str(digit))
                assert not is_valid_bin(digits + str((digit + 1) % 10))
                return
    pytest.fail("no sample found")
