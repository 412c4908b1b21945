from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.access import access_attachment, access_case
from chat.models import Message
from chat.services import MAX_BODY, message_post, messages_for
from intake import services as intake_services
from intake.attachments import attachment_open
from intake.models import Case
from intake.questionnaire import localised, render_answers
from whistle.accounts.decorators import staff_required
from whistle.http import StaffRequest
from whistle.keys.services import VAULT_HANDLER_PRIVATE, KeyAccessError, office_key_status
from whistle.tenants.access import access_membership
from whistle.vault import get_vault

PAGE_SIZE = 50


@staff_required
def inbox_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    office = membership.office
    cases = (
        Case.objects.filter(office=office).select_related("tenant").order_by("-received_on", "-id")
    )
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "casework/inbox.html",
        {
            "office": office,
            "membership": membership,
            "served_tenants": office.tenants.order_by("name"),
            "key_status": office_key_status(office=office, user=request.user),
            "page": page,
        },
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message to the reporter"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


def _case_key(request: StaffRequest, case: Case) -> bytes | None:
    private = get_vault(request).get(VAULT_HANDLER_PRIVATE)
    if private is None:
        return None
    try:
        return intake_services.case_key_for_office(
            case=case, user=request.user, handler_private=private
        )
    except KeyAccessError:
        return None


@staff_required
def case_view(request: StaffRequest, office_id: str, case_id: str) -> HttpResponse:
    membership, case = access_case(user=request.user, office_id=office_id, case_id=case_id)
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": membership.office}, status=403)
    form = ReplyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            message_post(
                case=case,
                case_key=key,
                side=Message.Side.OFFICE,
                author=request.user,
                body=form.cleaned_data["body"].strip(),
            )
            messages.success(request, _("Your message was sent to the reporter's mailbox."))
            return redirect("casework:case", office_id=office_id, case_id=case_id)
    elif request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    definition = intake_services.definition_of(case.questionnaire) if case.questionnaire else None
    category = definition.category(case.category) if definition else None
    attachments = intake_services.case_attachments(case=case, case_key=key)
    return render(
        request,
        "casework/case.html",
        {
            "office": membership.office,
            "case": case,
            "category": localised(category.label) if category else case.category,
            "answers": render_answers(
                definition, intake_services.case_answers(case=case, case_key=key)
            )
            if definition
            else [],
            "report_files": [a for a in attachments if not a.attachment.messages.exists()],
            "conversation": messages_for(case=case, case_key=key, viewer_side=Message.Side.OFFICE),
            "form": form,
        },
    )


@staff_required
def attachment_download_view(
    request: StaffRequest, office_id: str, case_id: str, attachment_id: str
) -> HttpResponse:
    case, attachment = access_attachment(
        user=request.user, office_id=office_id, case_id=case_id, attachment_id=attachment_id
    )
    key = _case_key(request, case)
    if key is None:
        return render(request, "casework/no_access.html", {"office": case.office}, status=403)
    meta = next(
        v.meta
        for v in intake_services.case_attachments(case=case, case_key=key)
        if v.attachment.pk == attachment.pk
    )
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
    # Only ever a download: never rendered by the browser in our origin.
    from django.utils.http import content_disposition_header

    response["Content-Disposition"] = content_disposition_header(True, meta["name"])
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
