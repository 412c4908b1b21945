"""Administration state that belongs to no lower layer."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from whistle.tenants.models import Tenant


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
