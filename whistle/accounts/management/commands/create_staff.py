from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from whistle.accounts.invitations import invitation_create
from whistle.accounts.models import Invitation
from whistle.tenants.models import Office, Tenant


class Command(BaseCommand):
    help = (
        "Invite a person to a staff role: operator (--operator), administrator of a tenant "
        "(--admin-of SLUG), or lead/handler of an office (--office ID [--lead]). The invitation "
        "link is e-mailed, or printed with --print-link; the person chooses their own password "
        "and second factor. Nobody types a password for someone else."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        role = parser.add_mutually_exclusive_group(required=True)
        role.add_argument("--office", help="public id of an office to join")
        role.add_argument("--admin-of", help="slug of a tenant this person administers")
        role.add_argument(
            "--operator",
            action="store_true",
            help="operator staff (the operator console); for the first account of a deployment",
        )
        parser.add_argument("--lead", action="store_true", help="join the office as office lead")
        parser.add_argument(
            "--print-link",
            action="store_true",
            help="print the one-time link instead of e-mailing it (hand it over yourself)",
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        office = tenant = None
        if options["operator"]:
            role = Invitation.Role.OPERATOR
        elif options["admin_of"]:
            role = Invitation.Role.TENANT_ADMIN
            tenant = Tenant.objects.filter(slug=options["admin_of"]).first()
            if tenant is None:
                raise CommandError("No tenant with that address name.")
        else:
            role = Invitation.Role.LEAD if options["lead"] else Invitation.Role.HANDLER
            try:
                office = Office.objects.filter(public_id=options["office"]).first()
            except ValidationError:
                office = None
            if office is None:
                raise CommandError("No office with that public id.")
        if options["lead"] and office is None:
            raise CommandError("--lead goes with --office.")
        try:
            invitation, url = invitation_create(
                email=options["email"],
                role=role,
                invited_by=None,
                tenant=tenant,
                office=office,
                send=not options["print_link"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if options["json"]:
            result: dict[str, Any] = {
                "invitation": str(invitation.public_id),
                "email": invitation.email,
                "role": invitation.role,
                "tenant": tenant.slug if tenant else (office.owner.slug if office else None),
                "office": str(office.public_id) if office else None,
                "expires_at": invitation.expires_at.isoformat(),
                "sent": not options["print_link"],
            }
            if options["print_link"]:
                result["link"] = url
            self.stdout.write(json.dumps(result, indent=2))
            return
        if options["print_link"]:
            self.stdout.write(
                f"Invitation for {invitation.email} ({invitation.get_role_display()}), valid "
                f"until {invitation.expires_at:%Y-%m-%d %H:%M %Z}. Hand over this one-time link:"
            )
            self.stdout.write(url)
        else:
            self.stdout.write(
                f"Invitation sent to {invitation.email} ({invitation.get_role_display()}), "
                f"valid until {invitation.expires_at:%Y-%m-%d %H:%M %Z}."
            )
