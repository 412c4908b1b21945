"""Staff login: password, then the second factor (enrolment on first login), logout."""

from __future__ import annotations

import base64
from urllib.parse import quote

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

import crypto
from whistle.accounts import invitations, services
from whistle.accounts.decorators import is_verified, staff_required
from whistle.accounts.devices import device_remember, devices_forget
from whistle.accounts.forms import (
    CodeForm,
    EnrolForm,
    InvitationPasswordForm,
    LoginForm,
    NoticesForm,
    RecoveryCodesForm,
)
from whistle.accounts.models import Invitation, User
from whistle.http import StaffRequest, TenantRequest
from whistle.tenants.models import Membership, Tenant


def _generic_error() -> str:
    return _(
        "The e-mail address, password or code is not right, or there were too many attempts. "
        "Please wait a moment and try again."
    )


def _busy_error() -> str:
    return _("The service is very busy right now. Please wait a moment and try again.")


def _next_url(request: TenantRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _pending_user(request: TenantRequest) -> User:
    """The user who passed the password step; 404 for anyone else (staff pages only)."""
    if request.tenant is not None or not isinstance(request.user, User):
        raise Http404
    return request.user


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request: TenantRequest) -> HttpResponse:
    if request.tenant is not None:
        raise Http404
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.staff_check_password(
                request=request,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
            if user is not None:
                services.staff_login(
                    request=request, user=user, password=form.cleaned_data["password"]
                )
        except crypto.BusyError:
            form.add_error(None, _busy_error())
            return render(
                request,
                "accounts/login.html",
                {"form": form, "next": _next_url(request)},
                status=503,
            )
        if user is not None:
            target = _next_url(request)
            if services.confirmed_totp(user) is None:
                return redirect("accounts:enrol")
            verify = f"{reverse('accounts:verify')}?next={quote(target, safe='/')}"
            return redirect(verify)
        form.add_error(None, _generic_error())
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request: TenantRequest) -> HttpResponse:
    user = _pending_user(request)
    if services.confirmed_totp(user) is None:
        return redirect("accounts:enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.staff_verify_second_factor(
            request=request, user=user, code=form.cleaned_data["code"]
        ):
            _accept_pending_invitation(request, user)
            response = redirect(_next_url(request))
            device_remember(request, response, user)
            return response
        form.add_error(None, _generic_error())
    return render(request, "accounts/verify.html", {"form": form, "next": _next_url(request)})


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request: TenantRequest) -> HttpResponse:
    user = _pending_user(request)
    if services.confirmed_totp(user) is not None:
        # Enrolment is only for accounts without a second factor: a password alone must never
        # be enough to add a new device.
        return redirect("accounts:verify")
    device = services.totp_enrolment_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = services.staff_confirm_enrolment(
            request=request, user=user, device=device, code=form.cleaned_data["code"]
        )
        if codes is not None:
            _accept_pending_invitation(request, user)
            response = render(request, "accounts/recovery_codes.html", {"codes": codes})
            device_remember(request, response, user)
            return response
        form.add_error(
            "code",
            _("That code did not match. Check the time on your phone and try the next code."),
        )
    uri = device.config_url
    qr_svg = segno.make(uri, error="m").svg_inline(
        scale=5, title=_("QR code for your authenticator app")
    )
    secret = _group(_base32(device.bin_key))
    return render(
        request,
        "accounts/enrol.html",
        {"form": form, "qr_svg": mark_safe(qr_svg), "secret": secret},  # noqa: S308 (segno output)
    )


# --- invitations ----------------------------------------------------------------------------


def _remember_invitation(request: TenantRequest, invitation: Invitation) -> None:
    """Keep the invitation (by id and digest, never its token) for the end of the login."""
    request.session[invitations.SESSION_PENDING] = [invitation.pk, invitation.token_digest]


def _accept_pending_invitation(request: TenantRequest, user: User) -> None:
    """After a full login (password and second factor): apply the invitation remembered in
    this session, if it is still pending and addressed to this account."""
    pending = request.session.pop(invitations.SESSION_PENDING, None)
    if not isinstance(pending, list) or len(pending) != 2:
        return
    invitation = invitations.invitation_pending_for(
        invitation_id=int(pending[0]), digest=str(pending[1])
    )
    if invitation is not None and invitations.invitation_accept(invitation=invitation, user=user):
        messages.success(request, _invitation_welcome(invitation))
    else:
        messages.warning(request, _invitation_gone())


def _invitation_welcome(invitation: Invitation) -> str:
    role = invitation.get_role_display()
    where = invitation.office or invitation.tenant
    if where is None:
        return _("Welcome. You now have the role: %(role)s.") % {"role": role}
    return _("Welcome. You are now %(role)s: %(where)s.") % {"role": role, "where": where}


def _invitation_gone() -> str:
    return _(
        "The invitation could not be used: it was used already, has expired or was withdrawn. "
        "Ask the person who invited you for a new one."
    )


def _invitation_invalid(request: TenantRequest) -> HttpResponse:
    """One page for unknown, used and expired links alike: nobody learns which it was."""
    return render(
        request,
        "accounts/invitation_invalid.html",
        {"valid_days": settings.INVITATION_VALID_DAYS},
        status=404,
    )


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation_view(request: TenantRequest, token: str) -> HttpResponse:
    """The invitation link: set a password (or log in), then the second factor; the role is
    applied once both are done."""
    if request.tenant is not None:
        raise Http404
    invitation = invitations.invitation_find(token=token)
    if invitation is None:
        return _invitation_invalid(request)
    context: dict[str, object] = {"invitation": invitation}
    user = request.user
    if isinstance(user, User):
        if user.email.lower() != invitation.email.lower():
            # 200, not 403: Django logs refusals with their path, and this link is still valid.
            return render(request, "accounts/invitation_other_account.html", context)
        if not is_verified(user):
            _remember_invitation(request, invitation)
            if services.confirmed_totp(user) is None:
                return redirect("accounts:enrol")
            return redirect("accounts:verify")
        if request.method == "POST":
            if invitations.invitation_accept(invitation=invitation, user=user):
                messages.success(request, _invitation_welcome(invitation))
                return redirect("accounts:home")
            return _invitation_invalid(request)
        return render(request, "accounts/invitation_accept.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        # The address has an account: its owner logs in as usual; the role follows the code.
        _remember_invitation(request, invitation)
        return render(request, "accounts/invitation_login.html", context)
    form = InvitationPasswordForm(invitation.email, request.POST or None)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["new_password1"]
        try:
            new_user = invitations.invitation_account_create(
                invitation=invitation, name=form.cleaned_data["name"], password=password
            )
        except crypto.BusyError:
            form.add_error(None, _busy_error())
            return render(request, "accounts/invitation.html", context, status=503)
        except ValidationError:
            _remember_invitation(request, invitation)
            return render(request, "accounts/invitation_login.html", context)
        _remember_invitation(request, invitation)
        try:
            services.staff_login(request=request, user=new_user, password=password)
        except crypto.BusyError:
            messages.info(
                request,
                _("Your password is saved. The service is busy: log in with it in a moment."),
            )
            return redirect("accounts:login")
        return redirect("accounts:enrol")
    return render(request, "accounts/invitation.html", context)


@require_POST
def logout_view(request: TenantRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are logged out."))
    return redirect("accounts:login")


@staff_required
def home_view(request: StaffRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("office")
        .order_by("office__name")
    )
    tenants = Tenant.objects.administered_by(request.user).order_by("name")
    if len(memberships) == 1 and not tenants and not request.user.is_staff:
        return redirect("casework:inbox", office_id=memberships[0].office.public_id)
    if not memberships and len(tenants) == 1 and not tenants[0].published:
        # A new tenant's admin (just invited): straight on with the set-up wizard.
        return redirect("console:setup", tenant_id=tenants[0].public_id)
    return render(
        request, "accounts/home.html", {"memberships": memberships, "admin_tenants": tenants}
    )


@staff_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def account_view(request: StaffRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "notices":
        notices_form = NoticesForm(request.POST)
        if notices_form.is_valid():
            services.staff_set_notices(
                user=request.user,
                new_report_notices=notices_form.cleaned_data["new_report_notices"],
            )
            messages.success(request, _("Your choice was saved."))
            return redirect("accounts:account")
        return render(
            request,
            "accounts/account.html",
            {
                "form": PasswordChangeForm(request.user),
                "recovery_form": RecoveryCodesForm(),
                "notices_form": notices_form,
            },
        )
    if request.method == "POST" and request.POST.get("action") == "forget_browsers":
        devices_forget(user=request.user)
        response = redirect("accounts:account")
        device_remember(request, response, request.user)  # this browser stays known
        messages.success(
            request, _("Done. Every other browser must now log in with password and code again.")
        )
        return response
    recovery_post = request.method == "POST" and request.POST.get("action") == "recovery"
    form = PasswordChangeForm(request.user, None if recovery_post else (request.POST or None))
    recovery_form = RecoveryCodesForm(request.POST if recovery_post else None)
    notices_form = NoticesForm(initial={"new_report_notices": request.user.new_report_notices})
    context = {"form": form, "recovery_form": recovery_form, "notices_form": notices_form}
    if recovery_post and recovery_form.is_valid():
        try:
            codes = services.staff_new_recovery_codes(
                user=request.user, password=recovery_form.cleaned_data["recovery_password"]
            )
        except crypto.BusyError:
            recovery_form.add_error(None, _busy_error())
            return render(request, "accounts/account.html", context, status=503)
        if codes is not None:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        recovery_form.add_error(
            "recovery_password",
            _("That is not your password. Your recovery codes were not changed."),
        )
    if recovery_post:
        return render(request, "accounts/account.html", context)
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_change_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except crypto.BusyError:
            form.add_error(None, _busy_error())
            return render(request, "accounts/account.html", context, status=503)
        # Every other session of this account ends (their session hash no longer matches);
        # this one stays logged in.
        update_session_auth_hash(request, form.user)
        messages.success(request, _("Your password was changed. Other sessions were logged out."))
        response = redirect("accounts:account")
        # Every other browser has to log in in full again; this one stays known.
        device_remember(request, response, request.user)
        return response
    return render(request, "accounts/account.html", context)


def _base32(key: bytes) -> str:
    return base64.b32encode(key).decode().rstrip("=")


def _group(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))
