"""The reporter's mailbox: enter the receipt, see status, deadlines, the report as sent and the
conversation; write to the office and add files. Logged out after 15 minutes without activity;
what was being written when that happened is kept."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import get_script_prefix
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import crypto
from chat.models import Message
from chat.services import MAX_BODY, message_post, messages_for
from intake import receipt_gate, services
from intake.access import access_reporter_case
from intake.attachments import attachment_receive_many, attachments_abandon, upload_problems
from intake.models import Case
from intake.questionnaire import localised, render_answers
from intake.views.common import reporter_tenant
from whistle.db import db_release
from whistle.http import TenantRequest
from whistle.sessions import MAILBOX_CASE, MAILBOX_KEY, REPORTER, REPORTER_SEEN_AT
from whistle.tenants.models import Tenant
from whistle.vault import get_vault


class ReceiptForm(forms.Form):
    receipt = forms.CharField(
        label=gettext_lazy("Your receipt code"),
        max_length=100,
        help_text=gettext_lazy(
            "The code you were shown after sending your report, e.g. ABCD-EFGH-…"
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    pending_message = forms.CharField(required=False, widget=forms.HiddenInput, max_length=MAX_BODY)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Your message to the office"),
        max_length=MAX_BODY,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


def _neutral_error() -> str:
    return _(
        "We could not open a report with this code. Check that you typed it correctly and try "
        "again. If you keep seeing this message, wait a few minutes."
    )


def _typing_error() -> str:
    return _(
        "This code is incomplete or contains a typing error. Check it against your note: it "
        "has seven groups of four letters and digits."
    )


def mailbox_session(request: TenantRequest, tenant: Tenant) -> tuple[Case, bytes] | None:
    """The case and key of a live mailbox session; None if there is none or it expired."""
    vault = get_vault(request)
    case_id, key = vault.get(MAILBOX_CASE), vault.get(MAILBOX_KEY)
    if case_id is None or key is None:
        return None
    now = timezone.now().timestamp()
    if REPORTER.ended(request.session, now):
        _end_session(request)
        messages.info(
            request,
            _("For your protection you were logged out after %(minutes)s minutes without activity.")
            % {"minutes": settings.REPORTER_IDLE_TIMEOUT // 60},
        )
        return None
    case = access_reporter_case(tenant=tenant, case_id=case_id.decode())
    if case is None:
        _end_session(request)
        return None
    REPORTER.touch(request.session, now)
    return case, key


def _end_session(request: TenantRequest) -> None:
    vault = get_vault(request)
    vault.remove(MAILBOX_CASE)
    vault.remove(MAILBOX_KEY)
    request.session.pop(REPORTER_SEEN_AT, None)


def mailbox_view(request: TenantRequest) -> HttpResponse:
    tenant = reporter_tenant(request)
    if request.method == "POST":
        return _login(request, tenant)
    session = mailbox_session(request, tenant)
    if session is None:
        return render(request, "intake/mailbox_login.html", {"form": ReceiptForm()})
    case, key = session
    pending = request.session.pop("_pending_message", "")
    return _mailbox_page(request, case, key, MessageForm(initial={"body": pending}))


def _login(request: TenantRequest, tenant: Tenant) -> HttpResponse:
    """Open the mailbox with a receipt (rules and their reasons: ``intake.receipt_gate``).

    A malformed receipt is answered at once (the check character is public: the answer tells
    nothing). Otherwise one indexed query finds the case, the database connection goes back
    to the pool, and the gate runs the Argon2 check, or for an unknown lookup part an
    equally long pause, so no request holds a connection while it waits for or runs Argon2.
    Every refusal re-renders the form with what was typed, the unsent message included.
    """
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        return render(request, "intake/mailbox_login.html", {"form": form})
    try:
        receipt = crypto.parse_receipt(form.cleaned_data["receipt"])
    except crypto.ReceiptFormatError:
        form.add_error("receipt", _typing_error())
        return render(request, "intake/mailbox_login.html", {"form": form})
    case = services.receipt_case_find(tenant=tenant, receipt=receipt)
    db_release(request)
    check = None if case is None else partial(services.receipt_case_key, case=case, receipt=receipt)
    try:
        key = receipt_gate.attempt(
            tenant_id=str(tenant.public_id), lookup=receipt.lookup, check=check
        )
    except crypto.BusyError:
        form.add_error(None, _("The service is very busy right now. Please try again in a moment."))
        response = render(request, "intake/mailbox_login.html", {"form": form}, status=503)
        response["Retry-After"] = "5"
        return response
    except receipt_gate.TooManyAttempts:
        form.add_error(
            None,
            _(
                "There have been too many attempts to open mailboxes here in the last minute. "
                "Please wait a minute and try again."
            ),
        )
        response = render(request, "intake/mailbox_login.html", {"form": form}, status=429)
        response["Retry-After"] = str(receipt_gate.BUDGET_WINDOW)
        return response
    if case is None or key is None:
        form.add_error(None, _neutral_error())
        return render(request, "intake/mailbox_login.html", {"form": form})
    services.receipt_rewrap_if_stale(case=case, receipt=receipt, case_key=key)
    request.session.cycle_key()
    vault = get_vault(request)
    vault.rotate()
    vault.put(MAILBOX_CASE, str(case.public_id).encode())
    vault.put(MAILBOX_KEY, key)
    REPORTER.touch(request.session, timezone.now().timestamp())
    if form.cleaned_data.get("pending_message"):
        request.session["_pending_message"] = form.cleaned_data["pending_message"]
        messages.info(request, _("Your unsent message is below. Check it and send it again."))
    return redirect("intake:mailbox")


def _mailbox_page(
    request: TenantRequest, case: Case, key: bytes, form: MessageForm, **extra: Any
) -> HttpResponse:
    definition = services.definition_of(case.questionnaire) if case.questionnaire else None
    answers = services.case_answers(case=case, case_key=key)
    category = definition.category(case.category) if definition else None
    report_files = [
        a
        for a in services.case_attachments(case=case, case_key=key)
        if not a.attachment.messages.exists()
    ]
    return render(
        request,
        "intake/mailbox.html",
        {
            "case": case,
            "category": localised(category.label) if category else "",
            "answers": render_answers(definition, answers) if definition else [],
            "report_files": report_files,
            "conversation": messages_for(
                case=case, case_key=key, viewer_side=Message.Side.REPORTER
            ),
            "form": form,
            "idle_minutes": settings.REPORTER_IDLE_TIMEOUT // 60,
            "socket_path": f"{get_script_prefix()}ws/mailbox/",
            "limits": {"file": case.tenant.max_file_mb},
            **extra,
        },
    )


def message_view(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    tenant = reporter_tenant(request)
    session = mailbox_session(request, tenant)
    form = MessageForm(request.POST)
    if session is None:
        # Keep what was written: it goes into the login form and comes back after login.
        body = request.POST.get("body", "")[:MAX_BODY]
        login = ReceiptForm(initial={"pending_message": body})
        if body:
            messages.info(
                request,
                _("Your message has not been sent yet. Enter your receipt code to continue."),
            )
        return render(request, "intake/mailbox_login.html", {"form": login})
    case, key = session
    # Files that were too large are refused with a message; the rest of the message is sent,
    # so nothing typed is lost.
    files = attachment_receive_many(
        request, tenant=tenant, case_id=str(case.public_id), case_key=key, field="files"
    )
    refused = upload_problems(request)  # too large, or no room to store them
    body = form.cleaned_data.get("body", "").strip() if form.is_valid() else ""
    if not form.is_valid() or not (body or files):
        if form.is_valid():
            form.add_error("body", _("Write a message or add a file."))
        for problem in refused:
            form.add_error(None, problem)
        attachments_abandon(files)  # not sent: the form shows no files, so none is kept
        return _mailbox_page(request, case, key, form)
    try:
        message_post(case=case, case_key=key, side=Message.Side.REPORTER, body=body, files=files)
    except Exception:
        attachments_abandon(files)  # best effort; what it cannot remove the purge will
        raise
    messages.success(request, _("Your message has been sent to the office."))
    for problem in refused:
        messages.warning(request, problem)
    return redirect("intake:mailbox")


def logout_view(request: TenantRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    reporter_tenant(request)
    _end_session(request)
    request.session.flush()
    get_vault(request).clear()
    messages.info(request, _("You have left your mailbox."))
    return redirect("intake:landing")
