"""Archiving sealed audit events (HIPAA's six years, docs/audit.md "Retention"): the events of whole seals, once
older than the retention period, written to a JSON-lines file that `verify_audit --archive FILE` reads in place
of the rows, so the trail still verifies (every seal's count and Merkle root, the seal chain, the legacy chain)
after the table's owner has removed the rows. The seals themselves stay in the database for good (one small row
per 10,000 events). Appends are untouched: writing an archive reads one snapshot; removing rows is the owner's
step, batch by batch, with no table lock (see the docs)."""

import datetime as dt
import heapq
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.models import AuditEvent, AuditSeal

# HIPAA (45 CFR 164.316(b)(2)(i)): six years from creation. 2,192 days: six years with two leap days.
RETENTION = dt.timedelta(days=2192)
FORMAT = "clinic-audit-archive/1"


class ArchiveError(Exception):
    """An archive that cannot be written or read (a message for the operator)."""


def event_record(event: AuditEvent) -> dict[str, Any]:
    """Every stored field of an event, as JSON values from which `event_from_record` rebuilds the same hash."""
    return {
        "id": event.pk,
        "txid": event.txid,
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": str(event.user_id) if event.user_id else None,
        "username": event.username,
        "roles": event.roles,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "patient_id": str(event.patient_id) if event.patient_id else None,
        "patients_seen": event.patients_seen,
        "data_category": event.data_category,
        "outcome": event.outcome,
        "ip": event.ip,
        "request_id": event.request_id,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def event_from_record(record: dict[str, Any]) -> AuditEvent:
    return AuditEvent(
        **{
            **record,
            "occurred_at": dt.datetime.fromisoformat(record["occurred_at"]),
            "user_id": uuid.UUID(record["user_id"]) if record["user_id"] else None,
            "patient_id": uuid.UUID(record["patient_id"]) if record["patient_id"] else None,
        }
    )


def write_archive(through_seal: int, path: str | Path, *, allow_recent: bool = False) -> int:
    """Write the events of seals 1 to `through_seal` (in seal order: by transaction id, then id) to `path`, a
    header line first; returns the number of events. Refuses a seal whose last event is younger than RETENTION
    unless `allow_recent` (drills and tests), and an existing file."""
    target = Path(path)
    if target.exists():
        raise ArchiveError(f"{target} exists: an archive is never overwritten.")
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":  # one snapshot for the seal and its events
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        seal = AuditSeal.objects.filter(sequence=through_seal).first()
        if seal is None:
            raise ArchiveError(f"There is no seal #{through_seal}.")
        last = AuditEvent.objects.filter(pk=seal.last_event_id).values_list("occurred_at", flat=True).first()
        if last is None:
            raise ArchiveError(
                f"The last event of seal #{through_seal} is not in the database (archived already?)."
            )
        if not allow_recent and last > timezone.now() - RETENTION:
            raise ArchiveError(
                f"Seal #{through_seal} ends with an event of {last:%Y-%m-%d}: younger than the six years kept."
            )
        through = Q(txid__lt=seal.last_txid) | Q(txid=seal.last_txid, id__lte=seal.last_event_id)
        events = AuditEvent.objects.filter(through).order_by("txid", "id")
        count = 0
        partial = target.with_name(target.name + ".partial")
        with open(partial, "x", encoding="utf-8") as fh:
            header = {"format": FORMAT, "through_seal": seal.sequence, "seal_hash": seal.hash}
            fh.write(json.dumps(header, sort_keys=True) + "\n")
            for event in events.iterator(chunk_size=2000):
                fh.write(json.dumps(event_record(event), sort_keys=True, separators=(",", ":")) + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        partial.rename(target)
    return count


def _read(path: str | Path) -> Iterator[AuditEvent]:
    with open(path, encoding="utf-8") as fh:
        header = json.loads(fh.readline() or "{}")
        if header.get("format") != FORMAT:
            raise ArchiveError(f"{path} is not an audit archive ({FORMAT}).")
        for line in fh:
            if line.strip():
                yield event_from_record(json.loads(line))


def archived_events(paths: Iterable[str | Path]) -> Iterator[AuditEvent]:
    """The events of the archive files, in seal order (each file is; several are merged)."""
    return heapq.merge(*(_read(path) for path in paths), key=lambda event: (event.txid, event.pk))


def with_archived(
    stored: Iterable[AuditEvent], archived: Iterable[AuditEvent]
) -> Iterator[tuple[AuditEvent, bool]]:
    """The events in the database and in archives, in seal order, each once, with whether an archived copy of a
    row still in the table differs from it (archived, not yet removed: the row is walked, the copy compared)."""
    merged = heapq.merge(
        ((event.txid, event.pk, 0, event) for event in stored),
        ((event.txid, event.pk, 1, event) for event in archived),
        key=lambda item: item[:3],
    )
    held: AuditEvent | None = None
    differs = False
    for _txid, _pk, source, event in merged:
        if held is not None and source == 1 and event.pk == held.pk:
            differs = event_record(event) != event_record(held)
            continue
        if held is not None:
            yield held, differs
        held, differs = event, False
    if held is not None:
        yield held, differs
