import os

import pytest
from rest_framework.test import APIClient

from tests.factories import SellerFactory, SellerUserFactory, StaffUserFactory, make_api_key

# Playwright's sync API runs an event loop in the test thread; the ORM calls the browser
# tests make from that thread are plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs a third of a second a user; tests need none of it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    # The manifest exists only after collectstatic, which the tests do not run.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits count in the cache; each test starts with none counted.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def account_manager(db):
    return StaffUserFactory(first_name="Alex", last_name="Morgan", email="alex@cashback.example")


@pytest.fixture
def seller(db, account_manager):
    return SellerFactory(name="Acme Gadgets", account_manager=account_manager)


@pytest.fixture
def other_seller(db):
    return SellerFactory(name="Rival Goods")


@pytest.fixture
def seller_user(seller):
    return SellerUserFactory(seller=seller, username="acme-owner")


@pytest.fixture
def api_key(seller) -> str:
    return make_api_key(seller)


@pytest.fixture
def api_client(api_key) -> APIClient:
    """An API client authenticated with a key of `seller`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def anonymous_api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def seller_client(client, seller_user):
    client.force_login(seller_user)
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """The system Chromium, never a downloaded browser."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"No Chromium at {CHROMIUM}: install Debian's (apt-get install -y chromium) "
            "or set CHROMIUM_EXECUTABLE."
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }
