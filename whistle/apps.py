from __future__ import annotations

from django.apps import AppConfig


class WhistleConfig(AppConfig):
    name = "whistle"
    verbose_name = "Whistle"

    def ready(self) -> None:
        from whistle import checks, metrics  # noqa: F401  (registers the checks)

        metrics.register()

        from django.db.models.signals import post_migrate, pre_migrate

        from whistle import rls

        rls.install_wrappers()
        pre_migrate.connect(rls.pre_migrate_uninstall, dispatch_uid="whistle.rls.uninstall")
        post_migrate.connect(rls.post_migrate_install, dispatch_uid="whistle.rls.install")
