from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from whistle.tenants.models import Tenant
from whistle.tenants.services import office_create


class Command(BaseCommand):
    help = "Create a reporting office owned by a tenant, optionally serving further tenants."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("owner", help="slug of the owning tenant")
        parser.add_argument("name")
        parser.add_argument("--serves", action="append", default=[], help="slug of another tenant")
        parser.add_argument("--description", default="")
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = [options["owner"], *options["serves"]]
        tenants = {t.slug: t for t in Tenant.objects.filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in tenants]
        if missing:
            raise CommandError(f"No tenant with the address name: {', '.join(missing)}")
        try:
            office = office_create(
                owner=tenants[options["owner"]],
                name=options["name"],
                serves=[tenants[s] for s in options["serves"]],
                description=options["description"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if options["json"]:
            result = {
                "office": str(office.public_id),
                "name": office.name,
                "owner": options["owner"],
                "serves": sorted(office.tenants.values_list("slug", flat=True)),
            }
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Created office {office.name} ({office.public_id}).")
