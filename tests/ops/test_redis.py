"""Redis as the shared cache (throttle counts) and the sessions' cache, with a real Debian redis-server on a free
local port; skipped without it. The readiness probe names Redis when it stops answering."""

import shutil
import socket
import subprocess
import time

import pytest
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import cache

from tests.ops.test_proxy import free_port

REDIS = shutil.which("redis-server")

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(REDIS is None, reason="needs redis-server")]


@pytest.fixture
def redis_server():
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - the redis-server found above
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield {"url": f"redis://127.0.0.1:{port}/0", "process": process}
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_settings(settings, redis_server):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server["url"],
            "KEY_PREFIX": "clinic-test",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    return redis_server


def test_readyz_checks_redis(client, redis_settings):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["cache"] == "ok"


def test_readyz_is_503_naming_the_cache_when_redis_stops(client, redis_settings):
    redis_settings["process"].terminate()
    redis_settings["process"].wait(timeout=10)

    started = time.monotonic()
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unavailable"
    assert time.monotonic() - started < 3


def test_a_signed_in_session_is_kept_in_redis_and_the_database(client, clinician, redis_settings):
    from django.contrib.sessions.models import Session

    client.force_login(clinician)

    key = client.session.session_key
    assert cache.get(KEY_PREFIX + key) is not None
    assert Session.objects.filter(session_key=key).exists()
    assert client.get("/").status_code == 200


def test_throttle_counts_live_in_redis(client, redis_settings):
    client.post(
        "/api/v1/auth/token/", {"username": "nobody", "password": "wrong"}, content_type="application/json"
    )

    keys = [key.decode() for key in cache._cache.get_client().keys("clinic-test:*")]
    assert any("throttle_" in key for key in keys), keys
