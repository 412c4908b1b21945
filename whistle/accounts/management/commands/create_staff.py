from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from whistle.accounts.models import User
from whistle.tenants.models import Membership, Office, Tenant
from whistle.tenants.services import membership_add, tenant_admin_add


class Command(BaseCommand):
    help = (
        "Create a staff account. The password is read from the terminal (or from stdin with "
        "--password-stdin); the second factor is set up at first login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--name", default="")
        parser.add_argument("--office", help="public id of an office to join")
        parser.add_argument("--lead", action="store_true", help="join the office as office lead")
        parser.add_argument("--admin-of", help="slug of a tenant this account administers")
        parser.add_argument("--password-stdin", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid e-mail address.") from None
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError("A staff account with this e-mail address exists already.")
        office = tenant = None
        if options["office"]:
            office = Office.objects.filter(public_id=options["office"]).first()
            if office is None:
                raise CommandError("No office with that public id.")
        if options["admin_of"]:
            tenant = Tenant.objects.filter(slug=options["admin_of"]).first()
            if tenant is None:
                raise CommandError("No tenant with that address name.")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
        user = User(email=email, name=options["name"])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with transaction.atomic():
            user.set_password(password)
            user.save()
            if office is not None:
                role = Membership.Role.LEAD if options["lead"] else Membership.Role.HANDLER
                membership_add(office=office, user=user, role=role)
            if tenant is not None:
                tenant_admin_add(tenant=tenant, user=user)
        self.stdout.write(f"Created staff account {email}.")
