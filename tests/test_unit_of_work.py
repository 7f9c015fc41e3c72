"""One transaction per request: services only flush, the request commits once, and a refusal or
an error leaves nothing behind; input that cannot be stored is refused before any view runs."""

import pytest
from conftest import login

from grants.accounts.models import User
from grants.core.db import transactional
from grants.core.errors import Conflict
from grants.extensions import db


def _count_users() -> int:
    return db.session.execute(db.select(db.func.count()).select_from(User)).scalar_one()


def test_a_refused_service_that_calls_another_leaves_nothing(app):
    before = _count_users()

    @transactional
    def inner(email):  # a service of its own: inside another one it only flushes
        db.session.add(User(email=email, name=email, password_hash="x"))

    @transactional
    def outer():
        inner("first@example.kz")
        inner("second@example.kz")
        raise Conflict("refused after two writes")

    with pytest.raises(Conflict):
        outer()
    db.session.expire_all()
    assert _count_users() == before


def test_a_service_on_its_own_commits_once_when_it_returns(app):
    @transactional
    def make():
        db.session.add(User(email="kept@example.kz", name="kept", password_hash="x"))

    make()
    db.session.rollback()  # a rollback now cannot undo what the service committed
    assert db.session.execute(db.select(User).filter_by(email="kept@example.kz")).scalar_one()


def test_a_request_that_answers_an_error_after_writing_rolls_back(app, users):
    """A view that wrote and then answered 4xx: the request's one transaction is rolled back."""
    users("writer@example.kz")

    @app.route("/_test/write-then-refuse", methods=["GET"])
    def write_then_refuse():
        user = db.session.execute(db.select(User).filter_by(email="writer@example.kz")).scalar_one()
        user.name = "changed by a refused request"
        db.session.flush()
        return "refused", 409

    @app.route("/_test/write-then-succeed", methods=["GET"])
    def write_then_succeed():
        user = db.session.execute(db.select(User).filter_by(email="writer@example.kz")).scalar_one()
        user.name = "changed by a successful request"
        return "ok", 200

    client = app.test_client()
    assert client.get("/_test/write-then-refuse").status_code == 409
    db.session.expire_all()
    assert db.session.execute(db.select(User.name).filter_by(email="writer@example.kz")).scalar_one() == "writer"
    assert client.get("/_test/write-then-succeed").status_code == 200
    db.session.expire_all()
    name = db.session.execute(db.select(User.name).filter_by(email="writer@example.kz")).scalar_one()
    assert name == "changed by a successful request"


@pytest.mark.parametrize(
    "path",
    [
        "/calls/1180591620717411303424",
        "/calls/2147483648",
        "/api/v1/applications/1180591620717411303424",
        "/api/v1/calls/2147483648",
        "/api/v1/awards/1180591620717411303424",
    ],
)
def test_ids_beyond_the_database_range_are_not_found(app, users, path):
    users("reader@example.kz")
    response = app.test_client().get(path)
    assert response.status_code in (401, 404)
    assert response.status_code != 500


@pytest.mark.parametrize(
    "path",
    ["/directory?q=%00", "/calls?region=%00", "/verify/%00", "/directory?q=a%00b"],
)
def test_nul_bytes_in_pages_and_query_strings_answer_400_in_the_readers_language(app, path):
    response = app.test_client().get(path, headers={"Accept-Language": "kk"})
    assert response.status_code == 400
    assert "сақтауға болмайтын таңбалар" in response.get_data(as_text=True)


def test_a_nul_byte_in_the_login_form_answers_400_and_logs_no_one_in(app, users):
    from conftest import csrf_token

    users("nul@example.kz")
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "nul@example.kz\x00", "password": "x", "csrf_token": token},
                           headers={"Accept-Language": "ru"})  # fmt: skip
    assert response.status_code == 400
    assert "нельзя сохранить" in response.get_data(as_text=True)
    login(client, "nul@example.kz")  # the account itself still works


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a\\u0000b@example.kz", "password": "x"}',
        '{"email": "\\ud800@example.kz", "password": "x"}',
        '{"email": "a@example.kz", "password": "x", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["nul", "lone-surrogate", "nested-100000"],
)
def test_json_that_cannot_be_stored_answers_400_in_the_error_format(app, body):
    response = app.test_client().post(
        "/api/v1/auth/token", data=body, content_type="application/json", headers={"Accept-Language": "ru"}
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] in {"invalid_characters", "invalid_json"}
    assert error["message"] and "Traceback" not in response.get_data(as_text=True)
