"""Administration records and state that belong to no lower layer."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
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


class QuestionnaireDraft(models.Model):
    """The questionnaire a tenant admin is editing, kept server-side between requests so that
    nothing typed is lost. One per tenant; publishing stores it as a new
    ``intake.Questionnaire`` version and removes it. It may be invalid while being edited: the
    editor lists what must be fixed before publishing."""

    # Row-level security (whistle.rls): the second wall between tenants.
    RLS: ClassVar[str] = "tenant"

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="questionnaire_draft"
    )
    definition = models.JSONField()
    #: The published version the draft was copied from.
    based_on = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"questionnaire draft of {self.tenant_id}"
