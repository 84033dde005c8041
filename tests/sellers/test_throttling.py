"""The API's rate limit per key is counted atomically in the shared cache: however many
requests arrive at once, exactly the limit gets through in a window, and the others are
told when to come back (429 with Retry-After)."""

import os
import threading
import uuid
from types import SimpleNamespace

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from sellers.models import ApiKey
from sellers.throttling import ApiKeyRateThrottle
from tests.concurrency import race
from tests.factories import make_api_key

LIMIT = 30
BURST = 200


def _redis_url() -> str | None:
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        url = os.environ.get(name, "")
        if url.startswith("redis://"):
            return url
    return None


@pytest.fixture(params=["local memory", "redis"])
def shared_cache(request, settings):
    """The cache each process has without CACHE_URL, and the Redis every process shares
    with it (under a prefix of this test's own)."""
    if request.param == "local memory":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        url = _redis_url()
        if url is None:
            pytest.skip("no Redis configured (CACHE_URL or CELERY_BROKER_URL)")
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": f"test-throttle-{uuid.uuid4().hex}",
            }
        }
    return request.param


@pytest.fixture
def limit(monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": f"{LIMIT}/min"})


def request_with_key(pk: int) -> SimpleNamespace:
    return SimpleNamespace(auth=ApiKey(pk=pk))


def burst(key_pk: int, n: int) -> list[bool]:
    """n requests of one key at the same moment, each with its own throttle, as DRF makes
    one a request."""
    barrier = threading.Barrier(n)
    allowed: list[bool | None] = [None] * n

    def one(i: int) -> None:
        throttle = ApiKeyRateThrottle()
        barrier.wait(timeout=10)
        allowed[i] = throttle.allow_request(request_with_key(key_pk), view=None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return allowed


@time_machine.travel("2026-10-01T10:00:10Z", tick=False)
def test_a_burst_lets_exactly_the_limit_through(shared_cache, limit):
    key = uuid.uuid4().int % 10**9
    allowed = burst(key, BURST)

    assert allowed.count(True) == LIMIT
    assert allowed.count(False) == BURST - LIMIT
    # Another key counts on its own.
    assert burst(key + 1, LIMIT).count(True) == LIMIT


def test_the_window_ends_and_says_when(shared_cache, limit):
    key = uuid.uuid4().int % 10**9
    with time_machine.travel("2026-10-01T10:00:15Z", tick=False):
        assert burst(key, LIMIT + 1).count(True) == LIMIT
        throttle = ApiKeyRateThrottle()
        assert throttle.allow_request(request_with_key(key), view=None) is False
        assert throttle.wait() == pytest.approx(45)
    with time_machine.travel("2026-10-01T10:01:00Z", tick=False):
        assert burst(key, LIMIT + 1).count(True) == LIMIT


@pytest.mark.django_db(transaction=True)
@time_machine.travel("2026-10-01T10:00:20Z", tick=False)  # all within one window
def test_concurrent_requests_get_exactly_the_limit_then_429_with_retry_after(seller, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "5/min"})
    key = make_api_key(seller)

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client.get(reverse("api:me"))

    outcomes = race(*[call] * 12)

    responses = [response for kind, response in outcomes if kind == "ok"]
    assert len(responses) == 12, outcomes
    assert sorted(r.status_code for r in responses) == [200] * 5 + [429] * 7
    for refused in (r for r in responses if r.status_code == 429):
        assert int(refused["Retry-After"]) == 40  # the seconds to the next minute
        assert "throttled" in refused.json()["detail"].lower()
