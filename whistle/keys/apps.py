from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KeysConfig(AppConfig):
    name = "whistle.keys"
    label = "keys"
    verbose_name = _("Keys")

    def ready(self) -> None:
        from django.conf import settings

        from crypto import configure_slots

        configure_slots(settings.ARGON2_MAX_CONCURRENT, float(settings.ARGON2_SLOT_TIMEOUT))
