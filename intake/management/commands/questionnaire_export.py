from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.models import Questionnaire
from intake.services import questionnaire_current
from whistle.tenants.models import Tenant


class Command(BaseCommand):
    help = "Print a tenant's questionnaire (newest version, or --questionnaire-version N) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's address name (slug)")
        parser.add_argument("--questionnaire-version", type=int, dest="questionnaire_version")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError("No tenant with this address name.")
        if options["questionnaire_version"]:
            found = Questionnaire.objects.filter(
                tenant=tenant, version=options["questionnaire_version"]
            ).first()
            if found is None:
                raise CommandError("This tenant has no questionnaire with that version.")
            questionnaire = found
        else:
            questionnaire = questionnaire_current(tenant)
        self.stdout.write(json.dumps(questionnaire.definition, ensure_ascii=False, indent=1))
