from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Conversation")

    def ready(self) -> None:
        from chat import receivers  # noqa: F401 - connects the signal receivers
