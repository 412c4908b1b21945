from __future__ import annotations

from django.apps import AppConfig


class WhistleConfig(AppConfig):
    name = "whistle"
    verbose_name = "Whistle"

    def ready(self) -> None:
        from whistle import checks, metrics  # noqa: F401  (registers the checks)

        metrics.register()
