"""`manage.py archive_audit --through-seal N --out FILE`: write the events of seals 1 to N to an archive file
(clinic/audit_archive.py; docs/audit.md "Retention"). Removing the rows afterwards is the table owner's step."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.audit_archive import ArchiveError, write_archive


class Command(BaseCommand):
    help = (
        "Write the audit events of seals 1 to N (older than six years) to a JSON-lines archive that "
        "verify_audit --archive reads in place of the rows."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--through-seal", type=int, required=True, metavar="N")
        parser.add_argument("--out", required=True, metavar="FILE", help="A new file (never overwritten).")
        parser.add_argument(
            "--allow-recent",
            action="store_true",
            help="Archive seals younger than six years (a drill on a copy; never on the clinic's trail).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = write_archive(
                options["through_seal"], options["out"], allow_recent=options["allow_recent"]
            )
        except (ArchiveError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Archived {count} events of seals 1 to {options['through_seal']} to {options['out']}; check it with "
            f"verify_audit --archive {options['out']} before the rows are removed."
        )
