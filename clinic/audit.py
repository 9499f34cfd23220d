"""The audit trail (SPEC section 7): one event per access or change, sealed afterwards into a hash chain.

`audit_record(...)` is called by the services (in the transaction of the change it records, so that a failed
audit write undoes the change) and by the API and pages for reads. It is one INSERT and takes no lock: each event
hashes only its own content, and the database stamps it with its transaction's id. The sealer
(`seal_pending`, run by `manage.py seal_audit`) later takes the events whose transactions have all ended, in
(txid, id) order, and writes one `AuditSeal` row per batch: their Merkle root (RFC 6962) chained to the previous
seal. `verify_trail` checks every event and seal; `verify_anchor` checks the seals exported outside the database.
docs/audit.md explains the design. The request's client address and id come from `RequestContextMiddleware`
through a context variable, so services need not be handed the request.
"""

import contextvars
import datetime as dt
import hashlib
import heapq
import json
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, Func, Min, Q, Value
from django.db.models.expressions import OrderBy
from django.db.models.sql.compiler import SQLCompiler
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from clinic.logs import request_id_for
from clinic.models import AuditEvent, AuditSeal, User
from clinic.network import client_ip

logger = logging.getLogger("clinic.audit")

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that keeps two sealers from writing the same
# seal at once. Only sealers take it; nothing on the request path does.
SEALER_LOCK_KEY = 7_031_972_002
# Events per seal at most, so that a sealer catching up after a pause keeps its batches (and memory) small.
SEAL_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class RequestContext:
    ip: str | None
    request_id: str


_request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


class RequestContextMiddleware:
    """Gives every request an id (a well-formed incoming `X-Request-ID` is kept, so the proxy's, the logs' and the
    audit's ids agree; echoed as `X-Request-ID`) and remembers the client address for the audit."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request)
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
    """The fields a hash covers, as JSON with sorted keys and no spaces (stable across databases). Events from
    before the seals also cover their `sequence` (their `hash` then covers `prev_hash` too: see `event_hash`)."""
    content: dict[str, Any] = {
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
    }
    if event.sequence is not None:
        content["sequence"] = event.sequence
    return json.dumps(content, sort_keys=True, separators=(",", ":"))


def event_hash(event: AuditEvent) -> str:
    """SHA-256 of the event's own content (`prev_hash` is empty on sealed-era events, the previous event's hash on
    the older ones)."""
    return hashlib.sha256((event.prev_hash + canonical_content(event)).encode()).hexdigest()


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
    """Append one event: a single INSERT, no lock, no read. It joins the caller's transaction when there is one,
    so the event and the change it records commit or roll back together (a failed append fails the change). The
    database fills `txid` with the writing transaction's id, which orders the event for the sealer."""
    context = current_request_context()
    authenticated = user is not None and user.is_authenticated
    event = AuditEvent(
        occurred_at=timezone.now(),
        user=user if authenticated else None,
        username=(user.get_username() if authenticated and user else username)[:150],
        roles=sorted(user.roles) if authenticated and user else [],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient_id=uuid.UUID(str(patient_id)) if patient_id is not None else None,
        patients_seen=" ".join(str(p) for p in patients_seen),
        data_category=data_category,
        outcome=outcome,
        ip=context.ip if context else None,
        request_id=context.request_id if context else "",
        detail=detail or {},
    )
    event.hash = event_hash(event)
    event.save(force_insert=True)
    return event


class ListedPatient(Func):
    """PostgreSQL: `patients_seen` names the patient, as a test on the list of its ids,
    `string_to_array(patients_seen, ' ') @> ARRAY[id]`, which the GIN index `audit_patients_seen_idx` (on that
    expression; clinic/migrations/0008) answers without reading every event. Elsewhere a substring test (SQLite:
    the development database, one clinic's size)."""

    output_field = BooleanField()

    def __init__(self, patient_id: str) -> None:
        super().__init__(F("patients_seen"), Value(patient_id))

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        seen, patient = self.get_source_expressions()
        seen_sql, seen_params = compiler.compile(seen)
        patient_sql, patient_params = compiler.compile(patient)
        params = [*seen_params, *patient_params]
        if connection.vendor == "postgresql":
            return f"string_to_array({seen_sql}, ' ') @> ARRAY[{patient_sql}]::text[]", params
        return f"INSTR({seen_sql}, {patient_sql}) > 0", params


def touching_patient(patient_id: uuid.UUID | str) -> Q:
    """Events about one patient: those naming it (`audit_patient_time_idx`), and lists that showed it
    (`patients_seen`, written above as space-separated ids; `ListedPatient`)."""
    patient_id = uuid.UUID(str(patient_id))
    return Q(patient_id=patient_id) | Q(ListedPatient(str(patient_id)))


def newest_first_from_index() -> OrderBy:
    """The order of events found by `touching_patient`: newest first, by `id + 0`, not `id`. Ordered by `id`
    itself with a LIMIT (a page), PostgreSQL walks the primary key backwards and tests every event until the
    page fills, which for a patient seen rarely is most of the table (2.2 s at 10 million events); an
    expression no index provides leaves it the GIN and patient indexes (a bitmap OR) and a sort of the few rows
    they find (83 ms; `make bench-audit-patients`). The same rows in the same order (ids are unique)."""
    return (F("id") + Value(0)).desc()


# --- Merkle tree head (RFC 6962 section 2.1) ---------------------------------------------------------------------


def merkle_root(leaf_hashes: list[str]) -> str:
    """The RFC 6962 Merkle tree hash of the events' hashes, in order: leaves are SHA-256(0x00 || hash), nodes
    SHA-256(0x01 || left || right), and a level's odd last node is carried up unpaired (which builds the RFC's
    largest-power-of-two split). SHA-256 of nothing for no leaves."""
    if not leaf_hashes:
        return hashlib.sha256(b"").hexdigest()
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in leaf_hashes]
    while len(level) > 1:
        paired = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


# --- Sealing -------------------------------------------------------------------------------------------------------


def seal_content(seal: AuditSeal) -> str:
    return json.dumps(
        {
            "sequence": seal.sequence,
            "sealed_at": seal.sealed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "first": [seal.first_txid, seal.first_event_id],
            "last": [seal.last_txid, seal.last_event_id],
            "event_count": seal.event_count,
            "horizon": seal.horizon,
            "merkle_root": seal.merkle_root,
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def seal_hash(seal: AuditSeal) -> str:
    return hashlib.sha256((seal.prev_hash + seal_content(seal)).encode()).hexdigest()


def after_seal(txid: int, event_id: int) -> Q:
    """Events after the position (txid, event_id) in the sealing order."""
    return Q(txid__gt=txid) | Q(txid=txid, id__gt=event_id)


def seal_of(event: AuditEvent) -> AuditSeal | None:
    """The seal covering an event, found by its position: the first seal whose last position is not before it
    (None while it is unsealed)."""
    return (
        AuditSeal.objects.filter(
            Q(last_txid__gt=event.txid) | Q(last_txid=event.txid, last_event_id__gte=event.pk)
        )
        .order_by("sequence")
        .first()
    )


# On PostgreSQL: the oldest transaction id that may still add events. Every transaction before it has ended, so
# the events with a smaller txid are final. The snapshot's running transactions count, except those known to run
# in another database of the cluster (they cannot write this table); one whose database is not known counts.
# With nothing running, the snapshot's xmax (no transaction from it on had ended). A sealer that has written events
# itself (the test suite seals inside a test's transaction) sees its own events too: when no other session of this
# database holds a transaction id, the horizon moves past its own.
_HORIZON_SQL = """
WITH snap AS (SELECT txid_current_snapshot() AS s),
elsewhere AS (
    SELECT backend_xid::text::bigint AS xid32 FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname IS NOT NULL AND datname <> current_database()
    UNION ALL
    SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database <> current_database()
),
horizon AS (
    SELECT COALESCE(
        (SELECT min(x) FROM snap, txid_snapshot_xip(snap.s) AS x
         WHERE x % 4294967296 NOT IN (SELECT xid32 FROM elsewhere)),
        (SELECT txid_snapshot_xmax(s) FROM snap)
    ) AS h
)
SELECT CASE
    WHEN txid_current_if_assigned() IS NOT NULL
        AND NOT EXISTS (
            SELECT 1 FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL
        )
        AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts WHERE database = current_database())
    THEN greatest(h, txid_current_if_assigned() + 1)
    ELSE h
END FROM horizon
"""


def sealing_horizon() -> int | None:
    """The transaction id below which events are final (PostgreSQL), or None: on SQLite every committed event is
    final (one writer at a time, ids given in commit order)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_HORIZON_SQL)
        return int(cursor.fetchone()[0])


def _lock_sealers() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK_KEY])


def _seal_batch(batch_size: int) -> AuditSeal | None:
    with transaction.atomic():
        _lock_sealers()
        horizon = sealing_horizon()
        last = AuditSeal.objects.order_by("-sequence").first()
        events = AuditEvent.objects.order_by("txid", "id")
        if last is not None:
            events = events.filter(after_seal(last.last_txid, last.last_event_id))
        if horizon is not None:
            events = events.filter(txid__lt=horizon)
        rows = list(events.values_list("txid", "id", "hash")[:batch_size])
        if not rows:
            return None
        seal = AuditSeal(
            sequence=(last.sequence + 1) if last else 1,
            sealed_at=timezone.now(),
            first_txid=rows[0][0],
            first_event_id=rows[0][1],
            last_txid=rows[-1][0],
            last_event_id=rows[-1][1],
            event_count=len(rows),
            horizon=horizon or 0,
            merkle_root=merkle_root([h for _, _, h in rows]),
            prev_hash=last.hash if last else GENESIS_HASH,
        )
        seal.hash = seal_hash(seal)
        seal.save(force_insert=True)
        transaction.on_commit(lambda: anchor(seal))
    return seal


def seal_pending(*, batch_size: int = SEAL_BATCH_SIZE) -> list[AuditSeal]:
    """Seal every event whose transaction has ended and that no seal covers yet, `batch_size` events a seal.
    Each seal is its own transaction; its hash is exported (`anchor`) once it has committed."""
    seals = []
    while (seal := _seal_batch(batch_size)) is not None:
        seals.append(seal)
        if seal.event_count < batch_size:
            break
    return seals


def anchor_line(seal: AuditSeal) -> str:
    return json.dumps(
        {
            "seal": seal.sequence,
            "hash": seal.hash,
            "last_event": seal.last_event_id,
            "sealed_at": seal.sealed_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        },
        sort_keys=True,
    )


def anchor(seal: AuditSeal) -> None:
    """Export a seal's hash outside the database: a log line (shipped with the logs), and a line appended to
    `AUDIT_ANCHOR_FILE` when it is set (put it on storage the database's owner cannot rewrite)."""
    line = anchor_line(seal)
    logger.info("audit seal %s", line)
    path = getattr(settings, "AUDIT_ANCHOR_FILE", "")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def unsealed_lag_seconds() -> float:
    """How long the oldest event no seal covers yet has waited, in seconds (0 when every event is sealed). The
    sealer keeps it under about `AUDIT_SEAL_INTERVAL`; a larger figure means it is stopped or held back."""
    last = AuditSeal.objects.order_by("-sequence").values("last_txid", "last_event_id").first()
    pending = AuditEvent.objects.all()
    if last is not None:
        pending = pending.filter(after_seal(last["last_txid"], last["last_event_id"]))
    oldest = pending.aggregate(oldest=Min("occurred_at"))["oldest"]
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


# --- Verification --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailBreak:
    """Where the trail breaks: `where` names the seal or event (`seal #3`, `event #1042`)."""

    where: str
    reason: str


@dataclass
class TrailReport:
    events: int = 0
    seals: int = 0
    unsealed: int = 0
    overdue: int = 0  # unsealed events older than the sealing interval


def _legacy_chain_breaks(archives: Sequence[str | Path] = ()) -> Iterator[TrailBreak]:
    """The events written before seals form their own chain by `sequence` and `prev_hash`: no gap, each linked
    (the archived ones read from their files, each event once)."""
    from clinic.audit_archive import archived_events

    legacy = AuditEvent.objects.filter(sequence__isnull=False).order_by("sequence")
    stored = legacy.values_list("sequence", "prev_hash", "hash", "id").iterator(chunk_size=2000)
    archived = sorted(
        (event.sequence, event.prev_hash, event.hash, event.pk)
        for event in archived_events(archives)
        if event.sequence is not None
    )
    links = heapq.merge(stored, archived, key=lambda link: (link[0], link[3]))
    expected_sequence, expected_prev = 1, GENESIS_HASH
    last_pk = None
    for sequence, prev_hash, own_hash, pk in links:
        if pk == last_pk:
            continue  # archived and still stored
        last_pk = pk
        if sequence != expected_sequence:
            yield TrailBreak(
                f"event #{pk}", f"legacy event #{expected_sequence} is missing (next is #{sequence})"
            )
        elif prev_hash != expected_prev:
            yield TrailBreak(f"event #{pk}", "its prev_hash does not match the previous legacy event's hash")
        expected_sequence, expected_prev = (sequence or 0) + 1, own_hash


def _close_seal(seal: AuditSeal, members: list[AuditEvent]) -> Iterator[TrailBreak]:
    where = f"seal #{seal.sequence}"
    if len(members) != seal.event_count:
        yield TrailBreak(where, f"it covers {seal.event_count} events but {len(members)} are in its range")
    elif (members[0].txid, members[0].pk) != (seal.first_txid, seal.first_event_id):
        yield TrailBreak(where, f"its first event #{seal.first_event_id} is not the first in its range")
    elif (members[-1].txid, members[-1].pk) != (seal.last_txid, seal.last_event_id):
        yield TrailBreak(where, f"its last event #{seal.last_event_id} is not the last in its range")
    elif merkle_root([event.hash for event in members]) != seal.merkle_root:
        yield TrailBreak(where, "the events in its range no longer give its Merkle root")


def verify_trail(
    *,
    interval_seconds: float | None = None,
    report: TrailReport | None = None,
    archives: Sequence[str | Path] = (),
) -> list[TrailBreak]:
    """Walk every seal and every event, in order, and list where the trail breaks: a seal missing from the chain
    or altered, an event altered, added inside a sealed range or removed from one, a broken legacy chain, and
    events left unsealed longer than the sealing interval. Counts go to `report`. On PostgreSQL the walk reads
    one snapshot (REPEATABLE READ), so a seal written meanwhile cannot look like a mismatch. `archives`: files
    written by `clinic.audit_archive.write_archive`, whose events count as if still in the table."""
    interval = settings.AUDIT_SEAL_INTERVAL if interval_seconds is None else interval_seconds
    report = report if report is not None else TrailReport()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return list(_verify_in_snapshot(interval, report, archives))


def _verify_in_snapshot(
    interval: float, report: TrailReport, archives: Sequence[str | Path] = ()
) -> Iterator[TrailBreak]:
    from clinic.audit_archive import archived_events, with_archived

    yield from _legacy_chain_breaks(archives)

    seals = AuditSeal.objects.order_by("sequence").iterator(chunk_size=500)
    expected_sequence, expected_prev = 1, GENESIS_HASH
    seal: AuditSeal | None = next(seals, None)

    def check_seal(candidate: AuditSeal) -> Iterator[TrailBreak]:
        where = f"seal #{candidate.sequence}"
        if candidate.sequence != expected_sequence:
            yield TrailBreak(where, f"seal #{expected_sequence} is missing")
        elif candidate.prev_hash != expected_prev:
            yield TrailBreak(where, "its prev_hash does not match the previous seal's hash")
        elif seal_hash(candidate) != candidate.hash:
            yield TrailBreak(where, "its content no longer matches its hash")

    if seal is not None:
        yield from check_seal(seal)
    members: list[AuditEvent] = []
    cutoff = timezone.now() - dt.timedelta(seconds=interval)
    stored = AuditEvent.objects.order_by("txid", "id").iterator(chunk_size=2000)
    for event, archive_differs in with_archived(stored, archived_events(archives)):
        report.events += 1
        if event_hash(event) != event.hash:
            yield TrailBreak(f"event #{event.pk}", "its content no longer matches its hash")
        if archive_differs:
            yield TrailBreak(f"event #{event.pk}", "its archived copy differs from the row")
        while seal is not None and (event.txid, event.pk) > (seal.last_txid, seal.last_event_id):
            yield from _close_seal(seal, members)
            report.seals += 1
            members = []
            expected_sequence, expected_prev = seal.sequence + 1, seal.hash
            seal = next(seals, None)
            if seal is not None:
                yield from check_seal(seal)
        if seal is None:
            report.unsealed += 1
            if event.occurred_at < cutoff:
                report.overdue += 1
        else:
            members.append(event)
    while seal is not None:
        yield from _close_seal(seal, members)
        report.seals += 1
        members = []
        expected_sequence, expected_prev = seal.sequence + 1, seal.hash
        seal = next(seals, None)
        if seal is not None:
            yield from check_seal(seal)
    if report.overdue:
        yield TrailBreak(
            "unsealed events",
            f"{report.overdue} events older than {interval:g} s are not sealed (is the sealer running?)",
        )


def verify_anchor(path: str | Path) -> Iterator[TrailBreak]:
    """Compare the seals exported to an anchor file (`anchor`) with the database: each must still be there with
    the same hash. A seal missing from the database means the trail's tail was removed."""
    known = dict(AuditSeal.objects.values_list("sequence", "hash"))
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                sequence, expected = int(entry["seal"]), str(entry["hash"])
            except (ValueError, KeyError, TypeError):
                yield TrailBreak(f"anchor line {number}", "it is not a seal line")
                continue
            if sequence not in known:
                yield TrailBreak(f"seal #{sequence}", "the anchor names it but the database has no such seal")
            elif known[sequence] != expected:
                yield TrailBreak(f"seal #{sequence}", "its hash differs from the one anchored")
