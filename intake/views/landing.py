from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from intake.accessibility import (
    MAX_LENGTH,
    FeedbackRefused,
    accessibility_feedback_submit,
    check_token,
    form_token,
)
from intake.models import AccessibilityStatement
from intake.texts import privacy_notice
from intake.views.common import ready_offices, reporter_tenant
from whistle.http import TenantRequest
from whistle.tenants.models import Tenant

FEEDBACK_HONEYPOT = "website"


def landing_context(tenant: Tenant, language: str) -> dict[str, object]:
    """What the landing page's tenant texts need; also the set-up preview's context."""
    return {
        "intro": tenant.text("intro", language),
        "privacy_text": privacy_notice(tenant, language),
    }


def landing_view(request: TenantRequest) -> HttpResponse:
    """The tenant's reporting page: who may report, how it is handled, how anonymity works."""
    tenant = reporter_tenant(request)
    if not tenant.published:
        return render(request, "intake/not_ready.html", status=503)
    context = landing_context(tenant, tenant.language_for(get_language() or ""))
    return render(request, "intake/landing.html", {"offices": ready_offices(tenant), **context})


def brand_css_view(request: TenantRequest) -> HttpResponse:
    """The tenant's accent colour (checked for contrast when set) as a style sheet: the CSP
    allows no inline styles."""
    tenant = reporter_tenant(request)
    css = f":root {{ --accent: {tenant.accent_colour}; }}\n" if tenant.accent_colour else ""
    return HttpResponse(css, content_type="text/css; charset=utf-8")


class FeedbackForm(forms.Form):
    message = forms.CharField(
        label=_("Your message"),
        max_length=MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "What did not work, on which page, and how you use the website (e.g. screen "
            "reader, keyboard, magnification). Please do not write anything about a report here."
        ),
    )
    token = forms.CharField(widget=forms.HiddenInput, required=False)


_REFUSALS = {
    "too_fast": _("Your message was not sent yet. Please wait a few seconds and send it again."),
    "stale": _("The form had expired. Your text is kept: please send it again."),
    "busy": _(
        "Too many messages are arriving at the moment. Your text is kept: please try again later."
    ),
    "honeypot": _("Your message could not be sent. Please try again."),
}


def accessibility_view(request: TenantRequest) -> HttpResponse:
    """The tenant's accessibility statement and its feedback form (not a report: the message
    goes to the tenant's administrators, never to a reporting office)."""
    tenant = reporter_tenant(request)
    status = 200
    error = ""
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        reason = ""
        if form.is_valid():
            try:
                if request.POST.get(FEEDBACK_HONEYPOT):
                    raise FeedbackRefused("honeypot")
                check_token(tenant, form.cleaned_data["token"])
                accessibility_feedback_submit(tenant=tenant, message=form.cleaned_data["message"])
            except FeedbackRefused as refused:
                reason = refused.reason
                error = str(_REFUSALS[reason])
                status = 429 if reason == "busy" else 400
            else:
                messages.success(
                    request, _("Thank you. Your message has been sent to the administrators.")
                )
                return redirect(reverse("intake:accessibility") + "#feedback")
        else:
            status = 400
        # The text is kept; the form's token too, unless it is no good (then a fresh one).
        data = request.POST.copy()
        data.pop(FEEDBACK_HONEYPOT, None)
        try:
            check_token(tenant, data.get("token", ""))
        except FeedbackRefused as refused:
            if refused.reason == "stale":
                data["token"] = form_token(tenant)
        form = FeedbackForm(data)
        form.is_valid()
    else:
        form = FeedbackForm(initial={"token": form_token(tenant)})
    return render(
        request,
        "intake/accessibility.html",
        {**_statement_context(tenant), "form": form, "error": error, "honeypot": FEEDBACK_HONEYPOT},
        status=status,
    )


def _statement_context(tenant: Tenant) -> dict[str, object]:
    statement = AccessibilityStatement.objects.filter(tenant=tenant).first()
    if statement is None:
        return {"statement": None}
    return {
        "statement": statement,
        "limitations": statement.limitations_for(get_language() or tenant.languages[0]),
    }


def logo_view(request: TenantRequest) -> HttpResponseBase:
    tenant = reporter_tenant(request)
    if not tenant.logo:
        raise Http404
    response = FileResponse(tenant.logo.open("rb"))
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
