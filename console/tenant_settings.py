"""Changing a tenant's settings (tenant admin): every change is audited by the name of the
setting that changed, never by its value (texts may hold names or addresses)."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from casework.audit import audit_record
from whistle.accounts.models import User
from whistle.tenants.models import Tenant

#: The Tenant fields a tenant admin may change here (slug, enabled and time zone are the
#: operator's).
EDITABLE = frozenset(
    {
        "name",
        "languages",
        "accent_colour",
        "controller_name",
        "controller_address",
        "privacy_contact",
        "reporter_groups",
        "external_channels",
        "own_channels",
        "texts",
        "retention_years",
        "retention_years_out_of_scope",
        "max_file_mb",
        "max_case_mb",
    }
)


def _audit(tenant: Tenant, actor: User, verb: str, setting: str) -> None:
    audit_record(
        tenant=tenant, actor=actor, verb=verb, object_type="tenant_setting", object_id=setting
    )


def _text_keys(texts: Any) -> dict[str, str]:
    flat: dict[str, str] = {}
    for language, entry in (texts or {}).items():
        for key, value in (entry or {}).items():
            flat[f"texts.{language}.{key}"] = str(value or "")
    return flat


def tenant_settings_update(*, tenant: Tenant, actor: User, values: dict[str, Any]) -> list[str]:
    """Store the changed ``values`` (field name → value; validated by the caller's form) and
    audit each changed setting. Returns the names of what changed (texts per language and
    kind, e.g. ``texts.de.privacy``)."""
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValueError(f"not a tenant setting: {sorted(unknown)}")
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        fields = [name for name, value in values.items() if getattr(locked, name) != value]
        changed = [name for name in fields if name != "texts"]
        if "texts" in fields:
            before, after = _text_keys(locked.texts), _text_keys(values["texts"])
            changed += sorted(
                k for k in before.keys() | after.keys() if before.get(k, "") != after.get(k, "")
            )
        for name in fields:
            setattr(locked, name, values[name])
        if fields:
            locked.full_clean(exclude=["logo"])
            locked.save(update_fields=fields)
        for setting in changed:
            _audit(locked, actor, "tenant.settings_changed", setting)
    for name in fields:
        setattr(tenant, name, values[name])
    return changed


def tenant_logo_set(*, tenant: Tenant, actor: User, logo: ContentFile[bytes] | None) -> None:
    """Replace (or with None remove) the logo; the old file is deleted after the commit."""
    old = tenant.logo.name if tenant.logo else ""
    storage = tenant.logo.storage
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if logo is not None:
            locked.logo.save(logo.name or "logo.png", logo, save=False)
        else:
            locked.logo = ""
        locked.save(update_fields=["logo"])
        _audit(locked, actor, "tenant.settings_changed", "logo")
        if old:
            transaction.on_commit(lambda: storage.delete(old))
    tenant.logo = locked.logo


def tenant_review_confirm(*, tenant: Tenant, actor: User) -> None:
    """The admin looked at the questionnaire and texts as reporters will see them."""
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(reviewed_at=timezone.now())
        _audit(tenant, actor, "tenant.reviewed", "reviewed_at")
    tenant.refresh_from_db(fields=["reviewed_at"])


def tenant_publish(*, tenant: Tenant, actor: User) -> None:
    """Open the reporting page. The caller checks the set-up checklist first."""
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(published=True)
        _audit(tenant, actor, "tenant.published", "published")
    tenant.published = True
