"""Signing in and out in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"
# Committed data, seen by the live server's thread; serialized_rollback restores the role groups after the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def nurse():
    return UserFactory(username="np.reyes", roles=["clinician"], password=PASSWORD)


def test_a_clinician_signs_in_and_sees_the_dashboard(page, log_in, nurse):
    log_in("np.reyes", PASSWORD)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Patients")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_a_wrong_password_is_refused_with_a_message(page, nurse):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("np.reyes")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_the_idle_warning_appears_before_sign_out_and_staying_keeps_the_session(
    page, log_in, nurse, settings
):
    settings.SESSION_IDLE_TIMEOUT = (
        20  # the warning shows from 10 seconds left (half the timeout, at most 2 min)
    )
    log_in("np.reyes", PASSWORD)
    warning = page.get_by_role("alert").filter(has_text="signed out in")
    expect(warning).to_be_visible(timeout=15_000)
    expect(warning).to_contain_text("signed out in")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    page.reload()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()  # still signed in
