"""Redis stopped under the rate limiter (issue 15, item 6): web and API login keep working, on a
limit counted in the process's memory, and the fallback is logged."""

import logging
import uuid

from conftest import PASSWORD, api_login, login, post_form


def test_login_works_and_is_still_limited_in_memory_when_redis_is_down(
    make_app, database_url, private_redis, limiter_recovers, users, caplog
):
    import redis

    app = make_app(database_url, RATELIMIT_STORAGE_URI=private_redis.url,
                   RATELIMIT_KEY_PREFIX=f"faults-{uuid.uuid4().hex[:6]}")  # fmt: skip
    with app.app_context():
        users("a@example.kz")
        users("b@example.kz")
        users("c@example.kz")
        client = app.test_client()
        post_form(client, "/login", {"email": "a@example.kz", "password": "wrong-wrong-1"})
        assert any(b"login:a@example.kz" in key for key in redis.Redis.from_url(private_redis.url).scan_iter())

        private_redis.stop()
        caplog.set_level(logging.WARNING)
        login(app.test_client(), "a@example.kz")  # asserts the redirect of a successful login
        assert api_login(app.test_client(), "a@example.kz").status_code == 201
        fallback = [r for r in caplog.records if r.levelno == logging.WARNING and "in-memory" in r.getMessage()]
        assert fallback, [r.getMessage() for r in caplog.records]

        # still limited: five failed tries, and the sixth (even with the right password) is refused
        web = app.test_client()
        for _ in range(5):
            assert post_form(web, "/login", {"email": "b@example.kz", "password": "wrong-wrong-1"}).status_code == 401
        assert post_form(web, "/login", {"email": "b@example.kz", "password": PASSWORD}).status_code == 429
        api = app.test_client()
        for _ in range(5):
            assert api_login(api, "c@example.kz", "wrong-wrong-1").status_code == 401
        refused = api_login(api, "c@example.kz")
        assert refused.status_code == 429
        assert refused.json["error"]["code"] == "rate_limited"
