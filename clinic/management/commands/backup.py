"""`manage.py backup`: a pg_dump (custom format) of the database and its manifest into BACKUP_DIR (clinic.backups)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clinic.backups import BackupError, backup


class Command(BaseCommand):
    help = (
        "Dump the PostgreSQL database (pg_dump custom format) with a manifest of row counts into BACKUP_DIR."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--directory", type=Path, default=None, help="default: BACKUP_DIR")

    def handle(self, *args: Any, directory: Path | None = None, **options: Any) -> None:
        try:
            path = backup(directory or Path(settings.BACKUP_DIR))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backup written: {path}")
