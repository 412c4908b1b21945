from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.models import TenantExport
from console.offboarding import tenant_export
from whistle import rls
from whistle.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Write everything a tenant owns to one ZIP file (cases encrypted as stored; the office "
        "recovery key opens them with `python -m console.archive open`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant's short name")
        parser.add_argument("--out", required=True, type=Path, help="the ZIP file to write")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        with rls.system():
            tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"There is no tenant {options['slug']!r}.")
        out: Path = options["out"]
        if out.exists():
            raise CommandError(f"{out} exists already; choose a new file name.")
        with out.open("xb") as destination:
            summary = tenant_export(tenant=tenant, destination=destination)
        with rls.system():
            TenantExport.objects.create(tenant=tenant, cases=summary.cases, files=summary.files)
        result = {"tenant": tenant.slug, "file": str(out), **vars(summary)}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"Exported {summary.cases} cases and {summary.files} files of {tenant.slug} "
                f"to {out}."
            )
