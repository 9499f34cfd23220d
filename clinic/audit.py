"""The audit trail (SPEC section 7): one event per access or change, appended to a hash chain.

`audit_record(...)` is called by the services (in the transaction of the change it records, so that a failed
audit write undoes the change) and by the API and pages for reads. The request's client address and id come
from `RequestContextMiddleware` through a context variable, so services need not be handed the request.
"""

import contextvars
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clinic.models import AuditEvent, User
from clinic.network import client_ip

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that serializes appends to the chain.
CHAIN_LOCK_KEY = 7_031_972_001


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    request_id: str


_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


class RequestContextMiddleware:
    """Gives every request an id (echoed as `X-Request-ID`) and remembers the client address for the audit."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        token = _request_context.set(RequestContext(ip=client_ip(request), request_id=request_id))
        try:
            response: HttpResponse = self.get_response(request)
        finally:
            _request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


def current_request_context() -> RequestContext | None:
    return _request_context.get()


def canonical_content(event: AuditEvent) -> str:
    """The fields a hash covers, as JSON with sorted keys and no spaces (stable across databases)."""
    return json.dumps(
        {
            "sequence": event.sequence,
            "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "user": str(event.user_id) if event.user_id else None,
            "username": event.username,
            "roles": sorted(event.roles),
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "patient": str(event.patient_id) if event.patient_id else None,
            "patients_seen": event.patients_seen,
            "data_category": event.data_category,
            "outcome": event.outcome,
            "ip": event.ip,
            "request_id": event.request_id,
            "detail": event.detail,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256((event.prev_hash + canonical_content(event)).encode()).hexdigest()


def _lock_chain() -> None:
    """Serialize appends so that concurrent requests never fork the chain. SQLite's IMMEDIATE transactions
    already serialize writers; PostgreSQL takes a transaction-scoped advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def audit_record(
    *,
    user: User | None,
    action: str,
    object_type: str = "",
    object_id: object = "",
    patient_id: uuid.UUID | str | None = None,
    patients_seen: Iterable[object] = (),
    data_category: str = "",
    outcome: str = AuditEvent.Outcome.ALLOWED,
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event. Joins the caller's transaction when there is one, so the event and the change it
    records commit or roll back together (no savepoint of its own: a failed append fails the whole change, and
    a read's append costs the lock, one SELECT and one INSERT)."""
    context = current_request_context()
    authenticated = user is not None and user.is_authenticated
    with transaction.atomic(savepoint=False):
        _lock_chain()
        last = AuditEvent.objects.order_by("-sequence").values("sequence", "hash").first()
        event = AuditEvent(
            sequence=(last["sequence"] + 1) if last else 1,
            occurred_at=timezone.now(),
            user=user if authenticated else None,
            username=(user.get_username() if authenticated and user else username)[:150],
            roles=sorted(user.roles) if authenticated and user else [],
            action=action,
            object_type=object_type,
            object_id=str(object_id or ""),
            patient_id=patient_id,
            patients_seen=" ".join(str(p) for p in patients_seen),
            data_category=data_category,
            outcome=outcome,
            ip=context.ip if context else None,
            request_id=context.request_id if context else "",
            detail=detail or {},
            prev_hash=last["hash"] if last else GENESIS_HASH,
        )
        if event.patient_id is not None:
            event.patient_id = uuid.UUID(str(event.patient_id))
        event.hash = event_hash(event)
        event.save(force_insert=True)
    return event


def touching_patient(patient_id: uuid.UUID | str) -> Q:
    """Events about one patient: those naming it, and lists that showed it (`patients_seen`, written above as
    space-separated ids; a UUID's text never occurs inside another's)."""
    patient_id = uuid.UUID(str(patient_id))
    return Q(patient_id=patient_id) | Q(patients_seen__contains=str(patient_id))


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    reason: str


def verify_chain(events: Iterable[AuditEvent] | None = None) -> Iterator[ChainBreak]:
    """Walk the chain in order and yield where it breaks: a gap, a wrong link or a hash that no longer fits."""
    events = (
        events if events is not None else AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)
    )
    expected_sequence, expected_prev = 1, GENESIS_HASH
    for event in events:
        if event.sequence != expected_sequence:
            yield ChainBreak(
                expected_sequence, f"event #{expected_sequence} is missing (next is #{event.sequence})"
            )
        elif event.prev_hash != expected_prev:
            yield ChainBreak(event.sequence, "its prev_hash does not match the previous event's hash")
        elif event_hash(event) != event.hash:
            yield ChainBreak(event.sequence, "its content no longer matches its hash")
        expected_sequence, expected_prev = event.sequence + 1, event.hash
