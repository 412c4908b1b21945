from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from whistle.tenants.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (an organisation with a reporting channel)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="address name: the reporter page is /t/<slug>/")
        parser.add_argument("name", help="the organisation's name as reporters see it")
        parser.add_argument("--language", action="append", dest="languages")
        parser.add_argument("--time-zone", default="Europe/Berlin")
        parser.add_argument("--hostname", action="append", dest="hostnames", default=[])
        parser.add_argument(
            "--published",
            action="store_true",
            help="open the reporting page at once instead of after the set-up wizard",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                languages=options["languages"],
                time_zone=options["time_zone"],
                hostnames=options["hostnames"],
                published=options["published"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.public_id}).")
