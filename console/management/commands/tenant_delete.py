from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from console.offboarding import OffboardingError, tenant_delete
from whistle import rls
from whistle.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Delete a suspended tenant and everything it owns, keys first (crypto-shredding); "
        "a content-free deletion record remains. Export it first (tenant_export)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the tenant's short name")
        parser.add_argument(
            "--confirm", required=True, help="the short name again, to confirm the deletion"
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["confirm"] != options["slug"]:
            raise CommandError("--confirm does not match the short name; nothing was deleted.")
        with rls.system():
            tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"There is no tenant {options['slug']!r}.")
        try:
            record = tenant_delete(tenant=tenant, actor=None)
        except OffboardingError as error:
            raise CommandError(f"Nothing was deleted: {error}") from None
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "tenant": str(record.tenant_public_id),
                        "slug": record.slug,
                        "deleted_at": record.deleted_at.isoformat(),
                        "counts": record.counts,
                    }
                )
            )
        else:
            self.stdout.write(
                f"Deleted tenant {record.slug}: {record.counts.get('cases', 0)} cases, "
                f"{record.counts.get('files', 0)} files."
            )
