from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "whistle.tenants"
    label = "tenants"
    verbose_name = _("Tenants and offices")
