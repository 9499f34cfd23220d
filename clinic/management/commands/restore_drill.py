"""`manage.py restore_drill`: restore the latest backup into a scratch database and prove it whole (clinic.backups)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.backups import BackupError, latest_backup, restore_drill


class Command(BaseCommand):
    help = (
        "Restore a backup (the latest in BACKUP_DIR by default) into a new scratch database, compare every table's "
        "row count with the backup's manifest, run verify_audit on the copy, then drop it. Fails on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backup", type=Path, default=None, help="a .dump file; default: the latest one")
        parser.add_argument("--directory", type=Path, default=None, help="default: BACKUP_DIR")
        parser.add_argument("--keep", action="store_true", help="keep the scratch database for inspection")

    def handle(
        self, *args: Any, backup: Path | None, directory: Path | None, keep: bool, **options: Any
    ) -> None:
        try:
            dump = backup or latest_backup(directory or Path(settings.BACKUP_DIR))
            result = restore_drill(dump, keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for table, (expected, restored) in result.mismatches.items():
            self.stderr.write(f"{table}: {expected} rows in the backup's manifest, {restored} restored")
        self.stdout.write(f"Audit: {result.audit_report}")
        if result.anchor_report:
            self.stdout.write(f"Anchor: {result.anchor_report}")
        if not result.ok:
            raise CommandError(f"Restore drill FAILED for {dump.name}.")
        kept = f" (kept as {result.scratch_database})" if keep else ""
        self.stdout.write(
            f"Restore drill passed for {dump.name}: {result.tables} tables, {result.rows} rows, counts equal, "
            f"audit chain intact{kept}."
        )
