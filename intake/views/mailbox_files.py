"""The reporter downloads a file the office sent (issue 15, point 4): decrypted on the fly with
the mailbox session's case key, with the handler download's protections: only ever a download
(attachment disposition, sandboxing CSP, no sniffing), never kept by a cache."""

from __future__ import annotations

from django.http import Http404, HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header

from intake import services
from intake.access import access_reporter_attachment
from intake.attachments import attachment_open
from intake.views.common import reporter_tenant
from intake.views.mailbox import mailbox_session
from whistle.http import TenantRequest


def mailbox_file_view(request: TenantRequest, attachment_id: str) -> HttpResponse:
    tenant = reporter_tenant(request)
    session = mailbox_session(request, tenant)
    if session is None:
        return redirect("intake:mailbox")
    case, key = session
    attachment = access_reporter_attachment(case=case, attachment_id=attachment_id)
    if attachment is None:
        raise Http404
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    meta = services.attachment_views(case=case, case_key=key, attachments=[attachment])[0].meta
    response: HttpResponse = StreamingHttpResponse(  # type: ignore[assignment]
        attachment_open(
            case_key=key,
            tenant_id=str(case.tenant.public_id),
            case_id=str(case.public_id),
            attachment_id=str(attachment.public_id),
            storage_name=attachment.storage_name,
        ),
        content_type="application/octet-stream",
    )
    response["Content-Disposition"] = content_disposition_header(True, str(meta["name"]))
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
