"""Office key pages: set up, grant access, recover with the recovery key, rotate."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import crypto
from whistle.accounts.decorators import staff_required
from whistle.accounts.models import User
from whistle.http import StaffRequest
from whistle.keys import services
from whistle.keys.models import OfficeKeyPair
from whistle.tenants.access import access_membership
from whistle.tenants.models import Office
from whistle.vault import get_vault


class RecoveryForm(forms.Form):
    recovery_key = forms.CharField(
        label=gettext_lazy("Office recovery key"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=gettext_lazy("Upper or lower case, with or without dashes and spaces."),
    )


def _locked(request: StaffRequest) -> HttpResponse:
    return render(request, "keys/locked.html", status=403)


def _fingerprint(keypair: OfficeKeyPair | None) -> str:
    return crypto.key_fingerprint(bytes(keypair.public_key)) if keypair is not None else ""


def _recovery_page(
    request: StaffRequest, office: Office, recovery: crypto.RecoveryKey
) -> HttpResponse:
    # Shown with the recovery key, so the lead writes it on the same sheet: the one record of
    # the genuine office key that no database write can change.
    context = {
        "office": office,
        "office_name": office.name,
        "groups": recovery.formatted.split("-"),
        "fingerprint": _fingerprint(services.current_keypair(office)),
    }
    return render(request, "keys/recovery_key.html", context)


@staff_required
def keys_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    status = services.office_key_status(office=membership.office, user=request.user)
    return render(
        request,
        "keys/office_keys.html",
        {
            "office": membership.office,
            "membership": membership,
            "status": status,
            "fingerprint": _fingerprint(status.keypair),
            "recovery_form": RecoveryForm(),
            "unlocked": get_vault(request).get(services.VAULT_HANDLER_PRIVATE) is not None,
        },
    )


def _new_keys(
    request: StaffRequest,
    office_id: str,
    make: Callable[..., crypto.RecoveryKey],
    refusal: str,
) -> HttpResponse:
    """Set up or renew the office keys with the member's unlocked key; show the recovery key."""
    membership = access_membership(user=request.user, office_id=office_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    private = get_vault(request).get(services.VAULT_HANDLER_PRIVATE)
    if private is None:
        return _locked(request)
    try:
        recovery = make(office=membership.office, actor=request.user, actor_private=private)
    except services.KeyAccessError:
        messages.error(request, refusal)
        return redirect("keys:office", office_id=office_id)
    return _recovery_page(request, membership.office, recovery)


@staff_required
def keys_setup_view(request: StaffRequest, office_id: str) -> HttpResponse:
    return _new_keys(
        request,
        office_id,
        services.office_keys_setup,
        _("Only the office lead can set up the keys, and only once."),
    )


@staff_required
def keys_rotate_view(request: StaffRequest, office_id: str) -> HttpResponse:
    return _new_keys(
        request,
        office_id,
        services.office_rotate_keys,
        _("Only an office lead with access to the keys can renew them."),
    )


@staff_required
def keys_grant_view(request: StaffRequest, office_id: str, user_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    # The grantee must be a member of the same office: looked up through the membership.
    grantee = User.objects.filter(public_id=user_id, memberships__office=membership.office).first()
    if grantee is None:
        raise Http404
    private = get_vault(request).get(services.VAULT_HANDLER_PRIVATE)
    if private is None:
        return _locked(request)
    try:
        services.office_grant(
            office=membership.office, actor=request.user, actor_private=private, grantee=grantee
        )
    except services.KeyIntegrityError:
        messages.error(
            request,
            _(
                "Access was not granted: the stored key of %(name)s failed its integrity check, "
                "so it may have been replaced outside Whistle. Ask them to log out and log in "
                "again, and tell the operator of this service if this message comes back."
            )
            % {"name": grantee.display_name},
        )
    except services.KeyAccessError:
        messages.error(
            request,
            _(
                "Access could not be granted: you need access yourself, and your colleague must "
                "have logged in once."
            ),
        )
    else:
        messages.success(
            request,
            _("%(name)s can now open this office's reports.") % {"name": grantee.display_name},
        )
    return redirect("keys:office", office_id=office_id)


@staff_required
def keys_recover_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = RecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.office_recover(
                office=membership.office,
                actor=request.user,
                recovery_text=form.cleaned_data["recovery_key"],
            )
        except crypto.RecoveryKeyFormatError:
            form.add_error(
                "recovery_key",
                _("This key contains a typing error. Check each group against your printout."),
            )
        except services.KeyAccessError:
            form.add_error("recovery_key", _("This is not the recovery key of this office."))
        else:
            messages.success(request, _("Your access to this office's reports is restored."))
            return redirect("keys:office", office_id=office_id)
    return render(request, "keys/recover.html", {"office": membership.office, "form": form})


@staff_required
def keys_recovery_stored_view(request: StaffRequest, office_id: str) -> HttpResponse:
    """The lead confirms that the recovery key shown once is printed or written down and
    stored safely; without the tick the page says so and nothing changes."""
    membership = access_membership(user=request.user, office_id=office_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if request.POST.get("stored") != "yes":
        messages.error(
            request,
            _(
                "Please tick the box to confirm that you have printed or written down the "
                "recovery key and stored it safely."
            ),
        )
        return redirect("keys:office", office_id=office_id)
    try:
        services.office_recovery_stored(office=membership.office, actor=request.user)
    except services.KeyAccessError:
        raise Http404 from None
    messages.success(request, _("Thank you. The recovery key is recorded as stored safely."))
    return redirect("keys:office", office_id=office_id)
