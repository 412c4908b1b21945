from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from whistle.accounts.invitations import invitation_create
from whistle.accounts.models import Invitation
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
        parser.add_argument(
            "--admin-email", help="invite the tenant's first administrator (e-mailed link)"
        )
        parser.add_argument(
            "--print-link",
            action="store_true",
            help="with --admin-email: print the invitation link instead of e-mailing it",
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_link"] and not options["admin_email"]:
            raise CommandError("--print-link goes with --admin-email.")
        url = None
        try:
            with transaction.atomic():
                tenant = tenant_create(
                    slug=options["slug"],
                    name=options["name"],
                    languages=options["languages"],
                    time_zone=options["time_zone"],
                    hostnames=options["hostnames"],
                    published=options["published"],
                )
                if options["admin_email"]:
                    _invitation, url = invitation_create(
                        email=options["admin_email"],
                        role=Invitation.Role.TENANT_ADMIN,
                        invited_by=None,
                        tenant=tenant,
                        send=not options["print_link"],
                    )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if options["json"]:
            result: dict[str, Any] = {
                "tenant": str(tenant.public_id),
                "slug": tenant.slug,
                "name": tenant.name,
                "languages": tenant.languages,
                "time_zone": tenant.time_zone,
                "hostnames": sorted(tenant.hostnames.values_list("hostname", flat=True)),
                "published": tenant.published,
                "admin_invited": options["admin_email"] or None,
            }
            if options["print_link"]:
                result["admin_link"] = url
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.public_id}).")
        if options["admin_email"]:
            if options["print_link"]:
                self.stdout.write(f"Hand this one-time link to the administrator: {url}")
            else:
                self.stdout.write(f"Invitation sent to {options['admin_email']}.")
