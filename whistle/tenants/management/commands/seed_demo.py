"""Create (once) a demo municipality with one office and one handler, and print how to log in.

The handler's password and TOTP secret are generated on the first run and kept in
``var/demo-credentials.json`` (mode 0600) so later runs print the same credentials instead of
resetting the password. Demo use only: never run this on a production deployment.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from whistle.accounts.models import User
from whistle.keys.services import active_keypair, handler_key_unlock, office_keys_setup
from whistle.tenants.models import Membership, Office, Tenant
from whistle.tenants.services import membership_add, office_create, tenant_create

DEMO_SLUG = "musterstadt"
DEMO_EMAIL = "handler@musterstadt.example"


class Command(BaseCommand):
    help = "Create the demo tenant, office and handler (idempotent) and print them as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--credentials-file",
            default=str(settings.VAR_DIR / "demo-credentials.json"),
            help="where the generated password is kept between runs",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates a known account; it refuses to run in production."
            )
        path = Path(options["credentials_file"])
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or tenant_create(
                slug=DEMO_SLUG, name="Stadt Musterstadt", published=True
            )
            office = Office.objects.filter(owner=tenant).first() or office_create(
                owner=tenant,
                name="Meldestelle Musterstadt",
                description="Die interne Meldestelle der Stadtverwaltung.",
            )
            user = User.objects.filter(email=DEMO_EMAIL).first()
            password = stored.get("password")
            if user is None or not password or not user.check_password(password):
                if user is not None:
                    raise CommandError(
                        f"The demo handler exists but {path} does not hold its password. "
                        "Delete the database under var/ to start the demo afresh."
                    )
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(DEMO_EMAIL, password, name="Demo Handler")
            membership_add(office=office, user=user, role=Membership.Role.LEAD)
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = TOTPDevice.objects.create(user=user, name="Demo", confirmed=True)
            recovery = stored.get("office_recovery_key")
            if active_keypair(office) is None:
                # What the lead does at first login: unlock the handler key, create the office
                # keys. The demo keeps the recovery key in its credentials file.
                private = handler_key_unlock(user=user, password=password)
                recovery = office_keys_setup(
                    office=office, actor=user, actor_private=private
                ).formatted
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"password": password, "office_recovery_key": recovery}), encoding="utf-8"
        )
        path.chmod(0o600)
        base = options["base_url"].rstrip("/")
        self.stdout.write(
            json.dumps(
                {
                    "reporter_url": f"{base}/t/{tenant.slug}/",
                    "staff_login_url": f"{base}/staff/login/",
                    "email": user.email,
                    "password": password,
                    "totp_secret": base64.b32encode(device.bin_key).decode().rstrip("="),
                    "otpauth_uri": device.config_url,
                    "office_recovery_key": recovery,
                },
                indent=2,
            )
        )
