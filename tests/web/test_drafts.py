"""Drafts of the visit note: saved as the author types, restored when the form reopens (to its author only),
discarded on save or cancel, expired after a week, audited without their text; and the idle timer's passive
requests."""

import datetime as dt
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import Draft
from cases.services.drafts import MAX_DRAFT_CHARS, draft_save, drafts_purge_expired
from clinic.models import AuditEvent
from clinic.security import LAST_ACTIVITY_KEY
from tests.factories import AttendedVisitFactory, SignedVisitFactory
from tests.web.query_count import count_queries

pytestmark = pytest.mark.django_db

TEXT = "Sleeping better; cravings at night."


@pytest.fixture
def attended(own_case, clinician):
    return AttendedVisitFactory(case=own_case, clinician=clinician, subjective="", plan="")


def draft_url(visit) -> str:
    return reverse("visit-note-draft", args=[visit.pk])


def note_url(visit) -> str:
    return reverse("visit-note", args=[visit.pk])


def draft_events():
    return AuditEvent.objects.filter(action="draft").order_by("id")


def test_typing_saves_a_draft_for_its_author_and_audits_it_without_the_text(
    signed_in, clinician, attended, htmx
):
    response = signed_in(clinician).post(
        draft_url(attended),
        {"subjective": TEXT, "craving": "4", "withdrawal_symptoms": ["insomnia", "nausea"], "stray": "x"},
        headers=htmx,
    )
    assert response.status_code == 200
    assert response.content.decode().startswith("Draft saved")
    draft = Draft.objects.get()
    assert (draft.author, draft.form, draft.object_id, draft.patient_id) == (
        clinician,
        "visit_note",
        attended.pk,
        attended.case.patient_id,
    )
    assert draft.data["subjective"] == [TEXT]
    assert draft.data["withdrawal_symptoms"] == ["insomnia", "nausea"]
    assert "stray" not in draft.data  # only the form's own fields
    assert draft.expires_at - draft.saved_at == dt.timedelta(days=7)
    event = draft_events().get()
    assert (event.object_type, event.object_id, event.patient_id, event.data_category) == (
        "draft",
        str(attended.pk),
        attended.case.patient_id,
        "clinical_note",
    )
    assert event.detail["op"] == "saved" and event.detail["form"] == "visit_note"
    assert set(event.detail["fields"]) == {"subjective", "craving", "withdrawal_symptoms"}
    assert TEXT not in str(event.detail)
    attended.refresh_from_db()
    assert attended.subjective == ""  # a draft writes nothing on the visit


def test_saving_again_replaces_the_draft(signed_in, clinician, attended, htmx):
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": "first"}, headers=htmx)
    client.post(draft_url(attended), {"subjective": "second"}, headers=htmx)
    assert Draft.objects.get().data["subjective"] == ["second"]
    assert draft_events().count() == 2


def test_reopening_the_form_restores_the_draft_and_audits_the_restore(signed_in, clinician, attended, htmx):
    client = signed_in(clinician)
    client.post(
        draft_url(attended),
        {"subjective": TEXT, "withdrawal_symptoms": ["nausea"], "craving": "6"},
        headers=htmx,
    )
    content = client.get(note_url(attended)).content.decode()
    assert "Your unsaved draft from" in content
    assert f"{TEXT}</textarea>" in content
    assert 'value="6"' in content
    assert 'value="nausea"' in content and 'value="nausea" id="id_withdrawal_symptoms_3" checked' in content
    assert draft_events().last().detail["op"] == "restored"


def test_saving_a_restored_draft_writes_its_fields(signed_in, clinician, attended, htmx):
    """The form posts against the visit's values, so a field that only came from the draft still counts as
    changed."""
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": TEXT}, headers=htmx)
    client.get(note_url(attended))
    response = client.post(note_url(attended), {"subjective": TEXT})
    assert response.status_code == 302
    attended.refresh_from_db()
    assert attended.subjective == TEXT
    assert not Draft.objects.exists()  # submitted: the draft is gone
    assert draft_events().last().detail["op"] == "submitted"


def test_a_refused_save_keeps_the_draft(signed_in, clinician, attended, htmx):
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": TEXT, "bp_systolic": "150"}, headers=htmx)
    response = client.post(note_url(attended), {"subjective": TEXT, "bp_systolic": "150"})
    assert response.status_code == 400  # one blood pressure number without the other
    assert Draft.objects.exists()


def test_cancel_discards_the_draft_and_returns_to_the_chart(signed_in, clinician, attended, htmx):
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": TEXT}, headers=htmx)
    response = client.post(reverse("visit-note-draft-discard", args=[attended.pk]), {"subjective": TEXT})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#visit-{attended.pk}")
    assert not Draft.objects.exists()
    assert draft_events().last().detail["op"] == "discarded"
    assert "Your unsaved draft" not in client.get(note_url(attended)).content.decode()


def test_cancel_never_redirects_off_site(signed_in, clinician, attended):
    response = signed_in(clinician).post(
        reverse("visit-note-draft-discard", args=[attended.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"].endswith(f"#visit-{attended.pk}")


def test_only_the_author_reads_a_draft(signed_in, clinician, supervisor, attended, htmx, client):
    signed_in(clinician).post(draft_url(attended), {"subjective": TEXT}, headers=htmx)
    client.logout()
    content = signed_in(supervisor).get(note_url(attended)).content.decode()
    assert TEXT not in content
    assert "Your unsaved draft" not in content


def test_a_supervisor_keeps_a_draft_of_their_own_beside_the_clinicians(
    signed_in, clinician, supervisor, attended, htmx, client
):
    signed_in(clinician).post(draft_url(attended), {"subjective": "mine"}, headers=htmx)
    client.logout()
    signed_in(supervisor).post(draft_url(attended), {"subjective": "theirs"}, headers=htmx)
    assert sorted(d.data["subjective"][0] for d in Draft.objects.all()) == ["mine", "theirs"]


@pytest.mark.parametrize("role", ["front_desk", "administrator"])
def test_roles_that_write_no_notes_keep_no_drafts(request, signed_in, attended, role, htmx):
    response = signed_in(request.getfixturevalue(role)).post(
        draft_url(attended), {"subjective": TEXT}, headers=htmx
    )
    assert response.status_code == 403
    assert not Draft.objects.exists()
    assert draft_events().get().outcome == "denied"


def test_a_clinician_outside_the_caseload_gets_404_and_no_draft(signed_in, clinician, other_case, htmx):
    visit = AttendedVisitFactory(case=other_case)
    response = signed_in(clinician).post(draft_url(visit), {"subjective": TEXT}, headers=htmx)
    assert response.status_code == 404
    assert not Draft.objects.exists()
    event = draft_events().get()
    assert (event.outcome, event.patient_id) == ("denied", other_case.patient_id)


def test_a_signed_note_takes_no_draft(signed_in, clinician, own_case, htmx):
    visit = SignedVisitFactory(case=own_case)
    response = signed_in(clinician).post(draft_url(visit), {"subjective": TEXT}, headers=htmx)
    assert response.status_code == 409
    assert not Draft.objects.exists()


def test_drafts_are_post_only(signed_in, clinician, attended):
    assert signed_in(clinician).get(draft_url(attended)).status_code == 405


def test_an_over_long_draft_is_a_400_and_nothing_is_kept(signed_in, clinician, attended, htmx):
    response = signed_in(clinician).post(
        draft_url(attended), {"subjective": "x" * (MAX_DRAFT_CHARS + 1)}, headers=htmx
    )
    assert response.status_code == 400
    assert "at most" in response.content.decode()
    assert not Draft.objects.exists()


def test_a_nul_byte_is_a_400_naming_nothing_saved(signed_in, clinician, attended, htmx):
    response = signed_in(clinician).post(draft_url(attended), {"plan": "a\x00b"}, headers=htmx)
    assert response.status_code == 400
    assert not Draft.objects.exists()


def test_an_expired_draft_is_not_restored_and_is_purged_with_an_audit_event(
    signed_in, clinician, attended, htmx
):
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": TEXT}, headers=htmx)
    Draft.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert TEXT not in client.get(note_url(attended)).content.decode()
    assert drafts_purge_expired() == 1
    assert not Draft.objects.exists()
    event = draft_events().last()
    assert (event.detail["op"], event.user_id, event.detail["author"]) == ("expired", None, str(clinician.pk))


def test_saving_a_draft_purges_the_authors_expired_ones(clinician, attended, own_case):
    other = AttendedVisitFactory(case=own_case)
    draft_save(
        author=clinician,
        form="visit_note",
        object_id=other.pk,
        patient_id=own_case.patient_id,
        data={"plan": ["old"]},
        fields=["plan"],
    )
    Draft.objects.update(expires_at=timezone.now() - dt.timedelta(days=1))
    draft_save(
        author=clinician,
        form="visit_note",
        object_id=attended.pk,
        patient_id=own_case.patient_id,
        data={"plan": ["new"]},
        fields=["plan"],
    )
    assert [d.object_id for d in Draft.objects.all()] == [attended.pk]


def test_the_draft_endpoint_query_count_is_bounded(
    signed_in, clinician, attended, htmx, django_assert_max_num_queries
):
    client = signed_in(clinician)
    client.post(draft_url(attended), {"subjective": "warm up"}, headers=htmx)
    with django_assert_max_num_queries(16):
        assert client.post(draft_url(attended), {"subjective": TEXT}, headers=htmx).status_code == 200


def test_the_note_form_is_wired_for_drafts(signed_in, clinician, attended):
    content = signed_in(clinician).get(note_url(attended)).content.decode()
    assert "data-draft" in content
    assert f'hx-post="{draft_url(attended)}"' in content
    assert 'hx-trigger="clinic:draft"' in content


# --- The idle timer -------------------------------------------------------------------------------------------


def test_a_passive_request_does_not_count_as_activity(signed_in, clinician, attended, htmx, settings):
    client = signed_in(clinician)
    session = client.session
    long_ago = time.time() - 120
    session[LAST_ACTIVITY_KEY] = long_ago
    session.save()
    response = client.post(draft_url(attended), {"subjective": TEXT}, headers={**htmx, "X-Idle-Passive": "1"})
    assert response.status_code == 200  # served: the draft is kept
    assert Draft.objects.exists()
    assert client.session[LAST_ACTIVITY_KEY] == long_ago
    assert int(response["X-Session-Idle-Remaining"]) <= settings.SESSION_IDLE_TIMEOUT - 119


def test_a_request_the_user_made_counts_as_activity(signed_in, clinician, attended, htmx):
    client = signed_in(clinician)
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - 120
    session.save()
    client.post(draft_url(attended), {"subjective": TEXT}, headers=htmx)
    assert client.session[LAST_ACTIVITY_KEY] > time.time() - 5


def test_a_passive_request_after_the_timeout_still_signs_out(signed_in, clinician, attended, htmx, settings):
    client = signed_in(clinician)
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - settings.SESSION_IDLE_TIMEOUT - 5
    session.save()
    response = client.post(draft_url(attended), {"subjective": TEXT}, headers={**htmx, "X-Idle-Passive": "1"})
    assert response.status_code in (302, 401, 403)
    assert not Draft.objects.exists()


def test_the_sign_in_form_does_not_take_the_focus_after_an_idle_sign_out(client):
    assert "autofocus" in client.get(reverse("login")).content.decode()
    assert "autofocus" not in client.get(reverse("login") + "?idle=1&next=/").content.decode()


# --- Addenda ----------------------------------------------------------------------------------------------------


@pytest.fixture
def signed(own_case, clinician):
    return SignedVisitFactory(case=own_case, clinician=clinician)


def test_an_addendum_being_typed_is_restored_on_the_chart(signed_in, clinician, signed, htmx):
    client = signed_in(clinician)
    url = reverse("visit-addendum-draft", args=[signed.pk])
    assert client.post(url, {"text": "BP recheck 128/80."}, headers=htmx).status_code == 200
    content = client.get(f"/patients/{signed.case.patient_id}/").content.decode()
    assert "BP recheck 128/80.</textarea>" in content
    assert "unsaved draft" in content
    assert draft_events().last().detail == {
        "form": "addendum",
        "op": "restored",
        "saved_at": Draft.objects.get().saved_at.isoformat(),
    }


def test_adding_the_addendum_discards_its_draft(signed_in, clinician, signed, htmx):
    client = signed_in(clinician)
    client.post(reverse("visit-addendum-draft", args=[signed.pk]), {"text": "Late entry."}, headers=htmx)
    assert (
        client.post(reverse("visit-addendum", args=[signed.pk]), {"text": "Late entry."}).status_code == 302
    )
    assert not Draft.objects.exists()


def test_discarding_an_addendum_draft_from_the_chart_refreshes_it(signed_in, clinician, signed, htmx):
    client = signed_in(clinician)
    client.post(reverse("visit-addendum-draft", args=[signed.pk]), {"text": "Oops."}, headers=htmx)
    chart = f"/patients/{signed.case.patient_id}/"
    response = client.post(
        reverse("visit-addendum-draft-discard", args=[signed.pk]),
        headers={**htmx, "HX-Current-URL": f"http://testserver{chart}"},
    )
    assert response["HX-Refresh"] == "true"
    assert not Draft.objects.exists()


def test_another_users_addendum_draft_stays_off_the_chart(
    signed_in, clinician, supervisor, signed, htmx, client
):
    signed_in(clinician).post(
        reverse("visit-addendum-draft", args=[signed.pk]), {"text": "Mine only."}, headers=htmx
    )
    client.logout()
    assert (
        "Mine only." not in signed_in(supervisor).get(f"/patients/{signed.case.patient_id}/").content.decode()
    )


def test_the_chart_reads_addendum_drafts_in_one_query(signed_in, clinician, own_case, htmx):
    visits = [SignedVisitFactory(case=own_case, clinician=clinician) for _ in range(3)]
    client = signed_in(clinician)
    chart = f"/patients/{own_case.patient_id}/"
    client.post(reverse("visit-addendum-draft", args=[visits[0].pk]), {"text": "one"}, headers=htmx)
    with_one = count_queries(lambda: client.get(chart))
    for visit in visits[1:]:
        client.post(reverse("visit-addendum-draft", args=[visit.pk]), {"text": "more"}, headers=htmx)
    with_three = count_queries(lambda: client.get(chart))
    audit_queries_per_restore = (
        2  # the last event, the insert (one event per restored draft; PostgreSQL: + lock)
    )
    assert with_three - with_one <= 2 * (audit_queries_per_restore + 1)
