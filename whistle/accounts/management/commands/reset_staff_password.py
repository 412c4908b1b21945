"""Set a new password for a staff member who forgot theirs.

Without the old password the handler's private key cannot be unwrapped: it is deleted with
every office access granted to it. After logging in with the new password, the handler waits
until a colleague with access (or the office recovery key) grants access again.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from whistle.accounts.devices import devices_forget
from whistle.accounts.models import User
from whistle.keys.services import handler_key_forget


class Command(BaseCommand):
    help = "Reset a staff password (the account's access to office keys is lost; see --help)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--keep-second-factor",
            action="store_true",
            help="keep the enrolled authenticator app (default: enrol again at next login)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email__iexact=options["email"].strip()).first()
        if user is None:
            raise CommandError("No staff account with this e-mail address.")
        password = secrets.token_urlsafe(15)
        with transaction.atomic():
            handler_key_forget(user=user)
            devices_forget(user=user)  # no browser keeps skipping the login throttle
            user.set_password(password)
            user.save(update_fields=["password"])
            if not options["keep_second_factor"]:
                from django_otp.plugins.otp_totp.models import TOTPDevice

                from whistle.accounts.models import RecoveryCodeDevice

                TOTPDevice.objects.filter(user=user).delete()
                RecoveryCodeDevice.objects.filter(user=user).delete()
        self.stdout.write(
            f"New temporary password for {user.email}: {password}\n"
            "Hand it over in person; ask them to change it at once. Their access to office "
            "reports is gone until a colleague grants it again."
        )
