from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from console import archive


class Command(BaseCommand):
    help = (
        "Open a tenant export with the office recovery keys (standard input, one per line); "
        "the same as `python -m console.archive open`."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("output")
        parser.add_argument("--recovery-key-file")

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["open", options["archive"], options["output"]]
        if options["recovery_key_file"]:
            argv += ["--recovery-key-file", options["recovery_key_file"]]
        status = archive.main(argv)
        if status:
            raise SystemExit(status)
