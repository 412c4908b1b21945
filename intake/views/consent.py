"""The reporter answers a request to pass on their identity (HinSchG § 9(3)): a plain form in
the mailbox, no JavaScript needed. Thin: intake.disclosures does the work."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from intake.access import access_reporter_disclosure
from intake.disclosures import DisclosureStateError, disclosure_answer
from intake.views.common import reporter_tenant
from intake.views.mailbox import mailbox_session
from whistle.http import TenantRequest


def consent_view(request: TenantRequest, disclosure_id: str) -> HttpResponse:
    tenant = reporter_tenant(request)
    session = mailbox_session(request, tenant)
    if session is None:
        messages.info(request, _("Enter your receipt code to answer the request."))
        return redirect("intake:mailbox")
    case, _key = session
    disclosure = access_reporter_disclosure(case=case, disclosure_id=disclosure_id)
    if disclosure is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    answer = request.POST.get("answer", "")
    if answer not in ("consent", "refuse"):
        messages.error(request, _("Choose whether you consent or refuse."))
        return redirect("intake:mailbox")
    try:
        disclosure_answer(case=case, disclosure=disclosure, consent=answer == "consent")
    except DisclosureStateError:
        messages.error(request, _("This request has already been answered."))
        return redirect("intake:mailbox")
    if answer == "consent":
        messages.success(
            request,
            _("You consented. Your identity may be passed on to this recipient, this one time."),
        )
    else:
        messages.success(request, _("You refused. Your identity will not be passed on for this."))
    return redirect("intake:mailbox")
