from __future__ import annotations

from django.apps import AppConfig


class WhistleConfig(AppConfig):
    name = "whistle"
    verbose_name = "Whistle"
