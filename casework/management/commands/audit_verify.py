"""``manage.py audit_verify``: check every tenant's audit chain and print where it is broken."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casework.audit import audit_check
from whistle.tenants.models import Tenant

_ANCHOR = re.compile(r"(?P<slug>[-a-zA-Z0-9_]+):(?P<sequence>[0-9]+):(?P<digest>[0-9a-f]{64})")


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident audit trail. Prints each tenant's latest event and digest: "
        "record them elsewhere and pass them later as --anchor to detect a truncated tail. "
        "Exits with status 1 when anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant (its address name, the slug)")
        parser.add_argument(
            "--anchor",
            action="append",
            default=[],
            metavar="SLUG:SEQUENCE:DIGEST",
            help="a latest event recorded earlier; it must still be there, unchanged",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError("No tenant with this address name.")
        anchors: dict[str, tuple[int, str]] = {}
        for value in options["anchor"]:
            match = _ANCHOR.fullmatch(value)
            if match is None:
                raise CommandError(f"An anchor looks like slug:sequence:digest, not {value!r}.")
            anchors[match["slug"]] = (int(match["sequence"]), match["digest"])

        known = set(Tenant.objects.filter(slug__in=anchors).values_list("slug", flat=True))
        if tenant is not None:
            known &= {tenant.slug}
        if unknown := sorted(set(anchors) - known):
            raise CommandError(f"Anchors for tenants not being verified: {', '.join(unknown)}.")

        report = audit_check(tenant=tenant, anchors=anchors)
        for head in report.heads:
            self.stdout.write(
                f"{head.tenant_slug}: latest event {head.sequence}, digest {head.digest}"
            )
        for problem in report.problems:
            self.stdout.write(f"PROBLEM {problem}")
        if report.problems:
            raise CommandError(
                f"{len(report.problems)} problem(s) in {report.events} events "
                f"in {report.tenants} tenants."
            )
        self.stdout.write(f"OK: {report.events} events in {report.tenants} tenants verified")
