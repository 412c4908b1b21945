"""Off-boarding pages: the tenant admin downloads the archive; the operator deletes the tenant."""

from __future__ import annotations

import tempfile

from django.db import transaction
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from casework.audit import audit_record
from console.access import access_operator_tenant
from console.models import TenantExport
from console.offboarding import OffboardingError, deletion_blockers, tenant_delete, tenant_export
from intake.models import Attachment, Case
from whistle import rls
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_export_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The tenant admin's copy of everything the tenant owns (console.archive)."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.method == "GET":
        exports = TenantExport.objects.filter(tenant=tenant).order_by("-created_at")[:5]
        return render(
            request,
            "console/offboarding/export.html",
            {"admin_tenant": tenant, "exports": exports},
        )
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it) ciphertexts and settings only; removed when closed
    summary = tenant_export(tenant=tenant, destination=spool)
    with transaction.atomic():
        TenantExport.objects.create(
            tenant=tenant, by_email=request.user.email, cases=summary.cases, files=summary.files
        )
        audit_record(
            tenant=tenant,
            actor=request.user,
            verb="tenant.exported",
            object_type="tenant",
            object_id=str(tenant.public_id),
        )
    spool.seek(0)
    stamp = timezone.localdate().isoformat()
    response: HttpResponse = FileResponse(  # type: ignore[assignment]
        spool,
        as_attachment=True,
        filename=f"whistle-export-{tenant.slug}-{stamp}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@staff_required
@require_http_methods(["GET", "POST"])
def tenant_delete_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The operator deletes a suspended tenant after typing its short name."""
    tenant = access_operator_tenant(request=request, tenant_id=tenant_id)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() != tenant.slug:
            error = "confirm"
        else:
            try:
                record = tenant_delete(tenant=tenant, actor=request.user)
            except OffboardingError:
                error = "blocked"
            else:
                return render(request, "console/offboarding/deleted.html", {"record": record})
    with rls.system():
        last_export = TenantExport.objects.filter(tenant=tenant).order_by("-created_at").first()
        counts = {
            "cases": Case.objects.filter(tenant=tenant).count(),
            "files": Attachment.objects.filter(case__tenant=tenant).count(),
        }
    return render(
        request,
        "console/offboarding/delete.html",
        {
            "tenant": tenant,
            "blockers": deletion_blockers(tenant),
            "last_export": last_export,
            "counts": counts,
            "error": error,
            "typed": request.POST.get("confirm", "") if request.method == "POST" else "",
        },
        status=400 if error else 200,
    )
