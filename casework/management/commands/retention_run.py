from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from casework.retention import retention_run


class Command(BaseCommand):
    help = (
        "Delete closed cases whose retention period is over (crypto-shredding first), finish "
        "interrupted deletions and send deletion notices and hold reviews. The scheduled job "
        "runs the same service."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="only print which cases would be deleted"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_run(dry_run=options["dry_run"])
        if options["dry_run"]:
            self.stdout.write(f"{len(report.due)} case(s) would be deleted:")
            for case_id in report.due:
                self.stdout.write(f"  {case_id}")
            return
        self.stdout.write(
            f"Deleted {report.deleted} case(s), finished {report.resumed} interrupted "
            f"deletion(s), sent {report.notices} notice(s) and {report.hold_reviews} hold "
            "review(s)."
        )
