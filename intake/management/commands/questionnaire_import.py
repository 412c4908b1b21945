from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from intake.questionnaire import QuestionnaireError
from intake.services import questionnaire_import
from whistle.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Store a questionnaire JSON file as a tenant's next version. Cases keep the version "
        "they were filed with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's address name (slug)")
        parser.add_argument("file", help="path of the JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError("No tenant with this address name.")
        try:
            data = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"The file cannot be read as JSON: {exc}") from None
        try:
            questionnaire = questionnaire_import(tenant=tenant, definition=data)
        except QuestionnaireError as exc:
            raise CommandError(f"The questionnaire is not valid: {exc}") from None
        self.stdout.write(f"Stored as version {questionnaire.version}.")
