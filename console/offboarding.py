"""Off-boarding (MT-2): export everything a tenant owns, then delete the tenant completely.

The export (:func:`tenant_export`) is the archive described in :mod:`console.archive`:
ciphertexts as stored, the recovery-wrapped office keys, settings, questionnaires and the audit
trail with its verification head. The deletion (:func:`tenant_delete`) runs like retention's:

1. **crypto-shred** in one transaction: every case key of the tenant (office and receipt
   copies) is cleared, and the private-key copies of the offices the tenant owns (grants,
   recovery wrap, rotation chain) are destroyed. From this commit on, no copy of the database,
   storage or a backup made afterwards opens anything of the tenant.
2. the tenant's files (attachments, pending uploads, logo) are removed from storage;
3. one transaction deletes every row that hangs on the tenant — found by walking the models'
   relations, so a table added later is deleted too — and the staff accounts that held roles
   only in this tenant.

What stays is a :class:`~console.models.TenantDeletionRecord`: the tenant's public id, name and
slug, when it was deleted and by whom, and how many cases and files went. Offices the tenant
owns that also serve other tenants stop the deletion (their cases belong to those tenants).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import uuid
import zipfile
from collections.abc import Iterator
from typing import IO, Any, cast

from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, get_candidate_relations_to_delete
from django.db.models.fields.reverse_related import ForeignObjectRel
from django.utils import timezone
from django.utils.translation import gettext as _

from casework.audit import audit_check
from casework.models import AuditEvent, Note
from chat.models import Message
from console.archive import FORMAT, FORMAT_VERSION, b64
from console.models import TenantDeletionRecord, TenantExport
from intake.models import Attachment, Case, CaseRecord, PendingUpload, Questionnaire
from intake.services import attachment_stream_context, case_key_info, record_context
from whistle import rls
from whistle.accounts.models import User
from whistle.keys.models import OfficeKeyGrant, OfficeKeyPair, OfficeRecoveryWrap
from whistle.keys.services import chain_info, recovery_context
from whistle.tenants.models import Membership, Office, Tenant, TenantAdmin

logger = logging.getLogger(__name__)


class OffboardingError(Exception):
    """The tenant cannot be deleted yet; the message says why, for the operator."""


# --- rows as JSON ------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return {"base64": b64(value)}
    if isinstance(value, (datetime.date, datetime.datetime, uuid.UUID)):
        return str(value)
    return value


def row_json(instance: models.Model) -> dict[str, Any]:
    """Every concrete column of ``instance`` (binary ones base64, foreign keys as ids)."""
    return {
        field.attname: _value(getattr(instance, field.attname))
        for field in instance._meta.concrete_fields
    }


def _direct(model: type[models.Model], pks: Any) -> Iterator[tuple[type[models.Model], Any]]:
    """(model, queryset) of the rows that point at the rows ``pks`` of ``model`` directly."""
    for candidate in get_candidate_relations_to_delete(model._meta):
        relation = cast(ForeignObjectRel, candidate)
        related = relation.related_model
        yield related, related._base_manager.filter(**{f"{relation.field.name}__in": pks})


def _children(
    model: type[models.Model], pks: Any, path: frozenset[type[models.Model]] = frozenset()
) -> Iterator[tuple[type[models.Model], Any]]:
    """(model, queryset) of every row that points at the rows ``pks`` of ``model``, directly or
    through other rows, children first, found through the models' relations (as retention's
    cascade does): a table added later is included. A relation back to a model already on the
    path (a key pair's successor) is not followed again: its rows are in the parent's set."""
    path = path | {model}
    for related, rows in _direct(model, pks):
        if related not in path:
            yield from _children(related, rows.values("pk"), path)
        yield related, rows


# --- export ------------------------------------------------------------------------------------


@dataclasses.dataclass
class ExportSummary:
    cases: int = 0
    files: int = 0
    offices: int = 0
    questionnaires: int = 0
    audit_events: int = 0


def _office_keys(office: Office) -> dict[str, Any]:
    current = OfficeKeyPair.objects.filter(office=office, active=True).order_by("-version").first()
    wrap = (
        OfficeRecoveryWrap.objects.filter(keypair=current).first() if current is not None else None
    )
    chain = []
    for pair in OfficeKeyPair.objects.filter(office=office, successor__isnull=False).select_related(
        "successor", "office"
    ):
        if pair.sealed_for_successor is None or pair.successor is None:
            continue
        chain.append(
            {
                "from": pair.version,
                "to": pair.successor.version,
                "sealed": b64(pair.sealed_for_successor),
                "info": chain_info(pair, pair.successor).decode(),
            }
        )
    return {
        "id": str(office.public_id),
        "name": office.name,
        "recovery": None
        if current is None or wrap is None
        else {
            "version": current.version,
            "wrapped": b64(wrap.wrapped_private),
            "context": recovery_context(current).decode(),
        },
        "chain": chain,
    }


def _case_entry(case: Case) -> tuple[dict[str, Any], list[Attachment]]:
    encrypted: list[dict[str, Any]] = []

    def add(what: str, kind: str, record_id: uuid.UUID, ciphertext: Any) -> None:
        context = record_context(case, kind, record_id)
        encrypted.append(
            {
                "what": what,
                "id": str(record_id),
                "ciphertext": b64(ciphertext),
                "context": dataclasses.asdict(context),
            }
        )

    for record in CaseRecord.objects.filter(case=case).order_by("pk"):
        add(record.kind, record.kind, record.public_id, record.ciphertext)
    for message in Message.objects.filter(case=case).order_by("pk"):
        add(
            f"message from the {message.side}",
            "message",
            message.public_id,
            message.body_ciphertext,
        )
    for note in Note.objects.filter(case=case).order_by("pk"):
        add("internal note", "note", note.public_id, note.body_ciphertext)
    attachments = list(Attachment.objects.filter(case=case).order_by("pk"))
    for attachment in attachments:
        add("file description", "attachment-meta", attachment.public_id, attachment.meta_ciphertext)
    rows: dict[str, list[dict[str, Any]]] = {}
    for model, queryset in _children(Case, [case.pk]):
        rows.setdefault(model._meta.label, []).extend(row_json(row) for row in queryset)
    keypair = case.office_keypair
    return (
        {
            "case": row_json(case),
            "key": {
                "office": str(case.office.public_id),
                "version": keypair.version if keypair is not None else None,
                "sealed": b64(case.key_for_office),
                "info": case_key_info(case).decode(),
            },
            "encrypted": encrypted,
            "files": [
                {
                    "id": str(attachment.public_id),
                    "context": attachment_stream_context(
                        str(case.tenant.public_id), str(case.public_id), str(attachment.public_id)
                    ).decode(),
                }
                for attachment in attachments
            ],
            "rows": rows,
        },
        attachments,
    )


def _write_json(bundle: zipfile.ZipFile, name: str, data: Any) -> None:
    bundle.writestr(name, json.dumps(data, indent=2, ensure_ascii=False, default=str))


def tenant_export(*, tenant: Tenant, destination: IO[bytes]) -> ExportSummary:
    """Write ``tenant``'s archive (``console.archive``) to ``destination``.

    Runs as system work (row-level security's ``system`` principal): the caller has checked
    that the requester may export this tenant. Reads each case separately, so memory stays
    bounded by the largest case (files are copied in chunks)."""
    summary = ExportSummary()
    with rls.system(), zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as bundle:
        offices = list(Office.objects.serving(tenant).order_by("name"))
        summary.offices = len(offices)
        settings_data: dict[str, Any] = {
            "tenant": row_json(tenant),
            "hostnames": [row_json(host) for host in tenant.hostnames.order_by("hostname")],
            "offices": [
                {
                    **row_json(office),
                    "serves": [str(t.public_id) for t in office.tenants.order_by("slug")],
                    "members": [
                        {"email": m.user.email, "name": m.user.name, "role": m.role}
                        for m in Membership.objects.filter(office=office).select_related("user")
                    ],
                }
                for office in offices
            ],
            "tenant_admins": [
                {"email": admin.user.email, "name": admin.user.name}
                for admin in TenantAdmin.objects.filter(tenant=tenant).select_related("user")
            ],
        }
        exported_apart = {Case, AuditEvent, Questionnaire, Office, TenantAdmin}
        for model, queryset in _direct(Tenant, [tenant.pk]):
            if model not in exported_apart and model._meta.label != "tenants.TenantHostname":
                settings_data.setdefault("other", {}).setdefault(model._meta.label, []).extend(
                    row_json(row) for row in queryset
                )
        _write_json(bundle, "settings.json", settings_data)
        for questionnaire in Questionnaire.objects.filter(tenant=tenant).order_by("version"):
            _write_json(
                bundle,
                f"questionnaires/v{questionnaire.version}.json",
                questionnaire.definition,
            )
            summary.questionnaires += 1
        events = [
            row_json(event) for event in AuditEvent.objects.filter(tenant=tenant).order_by("pk")
        ]
        summary.audit_events = len(events)
        _write_json(bundle, "audit/events.json", events)
        check = audit_check(tenant=tenant)
        _write_json(
            bundle,
            "audit/head.json",
            {
                "heads": [dataclasses.asdict(head) for head in check.heads],
                "problems": [str(problem) for problem in check.problems],
                "events": check.events,
            },
        )
        case_ids = []
        cases = (
            Case.objects.filter(tenant=tenant)
            .select_related("tenant", "office", "office_keypair")
            .order_by("pk")
        )
        for case in cases.iterator(chunk_size=200):
            entry, attachments = _case_entry(case)
            folder = f"cases/{case.public_id}"
            _write_json(bundle, f"{folder}/case.json", entry)
            for attachment in attachments:
                with (
                    default_storage.open(attachment.storage_name, "rb") as source,
                    bundle.open(f"{folder}/files/{attachment.public_id}", "w") as sink,
                ):
                    while chunk := source.read(1024 * 1024):
                        sink.write(chunk)
                summary.files += 1
            case_ids.append(str(case.public_id))
            summary.cases += 1
        _write_json(
            bundle,
            "manifest.json",
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "tenant": {"id": str(tenant.public_id), "slug": tenant.slug, "name": tenant.name},
                "created": timezone.now().isoformat(timespec="seconds"),
                "offices": [_office_keys(office) for office in offices],
                "cases": case_ids,
                "opened_by": "python -m console.archive open <archive> <output dir>",
            },
        )
    return summary


# --- deletion ----------------------------------------------------------------------------------


def deletion_blockers(tenant: Tenant) -> list[str]:
    """Why ``tenant`` cannot be deleted now (empty: it can)."""
    problems = []
    if tenant.enabled:
        problems.append(_("Suspend the tenant first, so that no report arrives while it goes."))
    with rls.system():
        shared = (
            Office.objects.filter(owner=tenant)
            .filter(tenants__in=Tenant.objects.exclude(pk=tenant.pk))
            .distinct()
            .order_by("name")
        )
        for office in shared:
            problems.append(
                _(
                    "The office %(office)s also serves other organisations; they must stop "
                    "using it first."
                )
                % {"office": office.name}
            )
        foreign = Case.objects.filter(office__owner=tenant).exclude(tenant=tenant).count()
        if foreign:
            problems.append(
                _("%(count)s cases of other organisations are handled by this tenant's offices.")
                % {"count": foreign}
            )
    return problems


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("file not deleted (%s); the orphan purge will", type(error).__name__)


def _delete_tree(model: type[models.Model], rows: Any) -> None:
    """``rows`` of ``model`` and everything that hangs on them, children first, one DELETE per
    table. Foreign keys that would keep a row (PROTECT, SET_NULL) do not stop it: the walk has
    deleted or will delete their rows too, inside the same transaction."""
    for _model, queryset in _children(model, rows.values("pk")):
        queryset.order_by()._raw_delete(queryset.db)
    rows.order_by()._raw_delete(rows.db)


def tenant_delete(*, tenant: Tenant, actor: User | None) -> TenantDeletionRecord:
    """Crypto-shred, then delete ``tenant`` and everything it owns. Raises
    :class:`OffboardingError` while :func:`deletion_blockers` names a reason."""
    blockers = deletion_blockers(tenant)
    if blockers:
        raise OffboardingError(" ".join(blockers))
    with rls.system():
        with transaction.atomic():
            locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
            offices = Office.objects.filter(owner=locked)
            cases = Case.objects.filter(tenant=locked)
            record = TenantDeletionRecord.objects.create(
                tenant_public_id=locked.public_id,
                slug=locked.slug,
                name=locked.name,
                deleted_by=actor.email if actor is not None else "",
                exported_at=TenantExport.objects.filter(tenant=locked)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first(),
                counts={
                    "cases": cases.count(),
                    "files": Attachment.objects.filter(case__tenant=locked).count(),
                    "offices": offices.count(),
                },
            )
            # Step 1: nothing opens any more.
            cases.update(key_for_office=None, key_for_receipt=None)
            OfficeKeyGrant.objects.filter(keypair__office__in=offices).delete()
            OfficeRecoveryWrap.objects.filter(keypair__office__in=offices).delete()
            OfficeKeyPair.objects.filter(office__in=offices).update(sealed_for_successor=None)
        # Step 2: the files.
        names = list(
            Attachment.objects.filter(case__tenant=tenant).values_list("storage_name", flat=True)
        )
        names += PendingUpload.objects.filter(tenant=tenant).values_list("storage_name", flat=True)
        if tenant.logo and tenant.logo.name:
            names.append(tenant.logo.name)
        for name in names:
            _delete_file(name)
        # Step 3: the rows.
        with transaction.atomic():
            people = set(
                Membership.objects.filter(office__owner=tenant).values_list("user_id", flat=True)
            ) | set(TenantAdmin.objects.filter(tenant=tenant).values_list("user_id", flat=True))
            _delete_tree(Case, Case.objects.filter(tenant=tenant))
            _delete_tree(Office, Office.objects.filter(owner=tenant))
            _delete_tree(Tenant, Tenant.objects.filter(pk=tenant.pk))
            kept = 0
            for user in User.objects.filter(pk__in=people, is_staff=False).exclude(
                models.Q(memberships__isnull=False) | models.Q(tenant_admin_roles__isnull=False)
            ):
                try:
                    with transaction.atomic():
                        user.delete()
                except ProtectedError:
                    kept += 1  # named in another tenant's audit trail: that tenant's record
            record.finished = True
            record.counts = {**record.counts, "staff_accounts_kept": kept}
            record.save(update_fields=["finished", "counts"])
    logger.info("tenant deleted (record %s)", record.pk)
    return record
