import pytest

from channels.fakes import FakeSms, FakeTelegram, channel_config


@pytest.fixture(scope="session")
def fake_telegram():
    fake = FakeTelegram().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def fake_sms():
    fake = FakeSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def fakes(fake_telegram, fake_sms):
    fake_telegram.clear()
    fake_sms.clear()
    return fake_telegram, fake_sms


@pytest.fixture
def app(make_app, database_url, fakes):
    """The app with Telegram and SMS pointed at the fakes."""
    app = make_app(database_url, **channel_config(*fakes))
    with app.app_context():
        yield app
