"""Metrics at /metrics: for a scraper with the token or from an allowed network; nobody else learns they exist."""

import pytest

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.7"


def test_metrics_answer_the_local_network_in_prometheus_format(client):
    client.get("/accounts/login/")

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "django_http_requests_total_by_method_total" in response.content.decode()


def test_metrics_answer_404_to_an_outside_address(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDE)

    assert response.status_code == 404
    assert b"django_http" not in response.content


def test_metrics_answer_a_scraper_with_the_token_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"

    allowed = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    refused = client.get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer wrong-token")

    assert (allowed.status_code, refused.status_code) == (200, 404)


def test_metrics_follow_the_configured_networks(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.2.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_a_forged_forwarded_address_does_not_open_the_metrics(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    response = client.get("/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR=f"127.0.0.1, {OUTSIDE}")

    assert response.status_code == 404


def test_metrics_answer_whatever_the_host_header(client):
    assert client.get("/metrics", HTTP_HOST="10.9.8.7:8000").status_code == 200
