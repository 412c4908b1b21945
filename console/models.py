"""Administration records."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from whistle.tenants.models import Tenant


class TenantExport(models.Model):
    """That a tenant's archive was downloaded, when and by whom (MT-2): the operator's delete
    page says whether the tenant has taken its data before it goes."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="exports")
    created_at = models.DateTimeField(auto_now_add=True)
    by_email = models.EmailField(blank=True)
    cases = models.PositiveIntegerField(default=0)
    files = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"export of tenant {self.tenant_id}"


class TenantDeletionRecord(models.Model):
    """What is left of a deleted tenant: that it existed, when it went and by whose hand, how
    much went with it. No content, no settings, no people but the operator who deleted it."""

    tenant_public_id = models.UUIDField(unique=True)
    slug = models.CharField(max_length=63)
    name = models.CharField(max_length=200)
    deleted_at = models.DateTimeField(auto_now_add=True)
    deleted_by = models.EmailField(blank=True)
    exported_at = models.DateTimeField(null=True)
    counts = models.JSONField(default=dict)
    finished = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("deleted tenant")
        verbose_name_plural = _("deleted tenants")

    def __str__(self) -> str:
        return f"deletion record of tenant {self.tenant_public_id}"
