"""`manage.py verify_audit`: check every audit event and seal; exit non-zero naming the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.audit import TrailReport, verify_anchor, verify_trail
from clinic.audit_archive import ArchiveError


class Command(BaseCommand):
    help = (
        "Verify the audit trail: each event's hash, each seal's Merkle root and its link to the previous seal, and "
        "that no event waits unsealed longer than AUDIT_SEAL_INTERVAL; with --anchor, that every seal exported to "
        "the anchor file is still in the database with the same hash. Fails naming the first broken link."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--anchor", metavar="FILE", help="An anchor file written by the sealer.")
        parser.add_argument(
            "--archive",
            metavar="FILE",
            action="append",
            default=[],
            help="An archive written by archive_audit, read in place of the rows removed (repeatable).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds an event may wait unsealed (default: setting).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = TrailReport()
        try:
            breaks = verify_trail(
                interval_seconds=options["interval"], report=report, archives=options["archive"]
            )
        except (OSError, ValueError, ArchiveError) as exc:
            raise CommandError(f"Cannot read the archive: {exc}") from exc
        if options["anchor"]:
            try:
                breaks += list(verify_anchor(options["anchor"]))
            except OSError as exc:
                raise CommandError(f"Cannot read the anchor file: {exc}") from exc
        if breaks:
            first = breaks[0]
            more = f" ({len(breaks) - 1} more problems)" if len(breaks) > 1 else ""
            raise CommandError(f"Audit trail broken at {first.where}: {first.reason}.{more}")
        self.stdout.write(
            f"Audit trail intact: {report.events} events, {report.seals} seals, {report.unsealed} events not "
            f"sealed yet{', anchor matches' if options['anchor'] else ''}."
        )
