"""Office pages: create an office, manage its members, the external flag, absence and deputy,
and offices serving other tenants. Thin: access helper, one service, respond."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console import offices
from console.access import access_managed_office, access_office_service, access_tenant_service
from whistle.accounts.decorators import staff_required
from whistle.accounts.invitations import invitations_pending
from whistle.accounts.models import Invitation, User
from whistle.http import StaffRequest
from whistle.tenants.access import access_admin_tenant, access_membership
from whistle.tenants.models import Membership, Office, OfficeService, Tenant


class OfficeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("description for reporters"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One sentence shown to reporters when they choose between offices."),
    )
    is_external = forms.BooleanField(
        label=gettext_lazy("external reporting office"),
        required=False,
        help_text=gettext_lazy("External offices may extend the feedback period to six months."),
    )


class ServiceRequestForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Office code"),
        max_length=40,
        help_text=gettext_lazy("The code the lead of the office gave you, e.g. K7QM-3XPD-9TRW."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _safe_next(request: StaffRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _member_user(office: Office, user_id: str) -> User:
    """A member of ``office`` (looked up through the membership: never another office's)."""
    user = User.objects.filter(public_id=user_id, memberships__office=office).first()
    if user is None:
        raise Http404
    return user


def _post_only(request: StaffRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


# --- create and manage ----------------------------------------------------------------------


@staff_required
def office_create_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = OfficeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            office = offices.office_create(
                tenant=tenant,
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                is_external=form.cleaned_data["is_external"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The office %(name)s was created.") % {"name": office.name})
            return redirect(_safe_next(request) or office_url(office))
    return render(
        request,
        "console/office_create.html",
        {"tenant": tenant, "form": form, "next": _safe_next(request) or ""},
    )


def office_url(office: Office) -> str:
    from django.urls import reverse

    return reverse("console:office", kwargs={"office_id": office.public_id})


def _office_page(request: StaffRequest, office: Office, **extra: object) -> HttpResponse:
    members = list(
        Membership.objects.filter(office=office)
        .select_related("user", "deputy")
        .order_by("-role", "user__email")
    )
    services = OfficeService.objects.filter(office=office).select_related("tenant")
    context = {
        "office": office,
        "members": members,
        "is_lead": offices.is_lead(office, request.user),
        "served": office.tenants.order_by("name"),
        "pending": [s for s in services if s.status == OfficeService.Status.PENDING],
        "active": [s for s in services if s.status == OfficeService.Status.ACCEPTED],
        "code": offices.format_code(office.service_code) if office.service_code else "",
        "invite_form": extra.pop("invite_form", None) or _invite_form(),
        "invitations": invitations_pending(office=office),
        "roles": Membership.Role.choices,
        **extra,
    }
    return render(request, "console/office.html", context)


@staff_required
def office_view(request: StaffRequest, office_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _office_page(request, office)


def _done(request: StaffRequest, office: Office, error: offices.OfficeError | None) -> HttpResponse:
    if error is not None:
        messages.error(request, str(error))
    return redirect("console:office", office_id=office.public_id)


@staff_required
def office_external_view(request: StaffRequest, office_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    try:
        offices.office_set_external(
            office=office, actor=request.user, is_external=request.POST.get("is_external") == "1"
        )
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(
        request,
        _("The office is now marked external: it may extend feedback periods to six months.")
        if office.is_external
        else _("The office is no longer marked external."),
    )
    return _done(request, office, None)


@staff_required
def office_code_view(request: StaffRequest, office_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    try:
        offices.office_code_renew(office=office, actor=request.user)
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(request, _("A new office code was made; the old one no longer works."))
    return _done(request, office, None)


@staff_required
def member_remove_view(request: StaffRequest, office_id: str, user_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    user = _member_user(office, user_id)
    try:
        offices.member_remove(office=office, actor=request.user, user=user)
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(
        request,
        _(
            "%(name)s was removed from the office and can no longer open its reports. If they "
            "may have kept a copy of the recovery key, renew the office keys."
        )
        % {"name": user.display_name},
    )
    if user.pk == request.user.pk:
        return redirect("accounts:home")
    return _done(request, office, None)


@staff_required
def member_role_view(request: StaffRequest, office_id: str, user_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    user = _member_user(office, user_id)
    try:
        offices.member_set_role(
            office=office, actor=request.user, user=user, role=request.POST.get("role", "")
        )
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(request, _("The role of %(name)s was changed.") % {"name": user.display_name})
    return _done(request, office, None)


# --- absence (any member, for themself) -----------------------------------------------------


class AbsenceForm(forms.Form):
    away = forms.BooleanField(label=gettext_lazy("I am away"), required=False)
    deputy = forms.ChoiceField(
        label=gettext_lazy("Deputy while I am away"),
        required=False,
        help_text=gettext_lazy(
            "Receives the deadline reminders meant for you while you are away. Without a "
            "deputy they go to the office lead."
        ),
    )

    def __init__(self, *args: object, colleagues: list[Membership], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = [("", _("nobody (the office lead is told)"))]
        choices += [(str(m.user.public_id), m.user.display_name) for m in colleagues]
        self.fields["deputy"].choices = choices  # type: ignore[attr-defined]


@staff_required
def absence_view(request: StaffRequest, office_id: str) -> HttpResponse:
    membership = access_membership(user=request.user, office_id=office_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    office = membership.office
    colleagues = list(
        Membership.objects.filter(office=office, user__is_active=True)
        .exclude(user=request.user)
        .select_related("user")
        .order_by("user__email")
    )
    initial = {
        "away": membership.away,
        "deputy": str(membership.deputy.public_id) if membership.deputy else "",
    }
    form = AbsenceForm(request.POST or None, initial=initial, colleagues=colleagues)
    if request.method == "POST" and form.is_valid():
        chosen = form.cleaned_data["deputy"]
        deputy = next((m.user for m in colleagues if str(m.user.public_id) == chosen), None)
        try:
            offices.member_set_away(
                office=office, actor=request.user, away=form.cleaned_data["away"], deputy=deputy
            )
        except offices.OfficeError as error:
            form.add_error("deputy", str(error))
        else:
            messages.success(
                request,
                _("You are marked away.")
                if form.cleaned_data["away"]
                else _("You are marked present."),
            )
            return redirect("console:office_absence", office_id=office.public_id)
    return render(
        request,
        "console/absence.html",
        {"office": office, "membership": membership, "form": form},
    )


# --- shared offices -------------------------------------------------------------------------


@staff_required
def tenant_services_view(request: StaffRequest, tenant_id: str) -> HttpResponse:
    """The tenant admin's page: offices of other organisations serving it, and asking one."""
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = ServiceRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service = offices.service_request(
                tenant=tenant, actor=request.user, code=form.cleaned_data["code"]
            )
        except offices.OfficeError as error:
            form.add_error("code", str(error))
        else:
            messages.success(
                request,
                _("%(office)s was asked to serve %(tenant)s. Its lead decides.")
                % {"office": service.office.name, "tenant": tenant.name},
            )
            return redirect("console:office_service_request", tenant_id=tenant.public_id)
    return _services_page(request, tenant, form)


def _services_page(
    request: StaffRequest, tenant: Tenant, form: ServiceRequestForm | None = None
) -> HttpResponse:
    services = (
        OfficeService.objects.filter(tenant=tenant)
        .select_related("office__owner")
        .order_by("-created_at")
    )
    return render(
        request,
        "console/services.html",
        {
            "tenant": tenant,
            "services": services,
            "form": form or ServiceRequestForm(),
            "own_offices": Office.objects.filter(owner=tenant).order_by("name"),
        },
    )


@staff_required
def tenant_service_end_view(request: StaffRequest, tenant_id: str, service_id: str) -> HttpResponse:
    tenant = access_admin_tenant(user=request.user, tenant_id=tenant_id)
    if (refused := _post_only(request)) is not None:
        return refused
    service = access_tenant_service(tenant=tenant, service_id=service_id)
    try:
        offices.service_end(service=service, actor=request.user)
    except offices.OfficeError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Done: %(office)s no longer serves you.") % {"office": service.office.name}
            if service.status == OfficeService.Status.ENDED
            else _("The request was withdrawn."),
        )
    return redirect("console:office_service_request", tenant_id=tenant.public_id)


@staff_required
def office_service_decide_view(
    request: StaffRequest, office_id: str, service_id: str
) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    service = access_office_service(office=office, service_id=service_id)
    decision = request.POST.get("decision")
    if decision not in ("accept", "refuse"):
        return _done(request, office, offices.OfficeError(_("Choose accept or refuse.")))
    try:
        offices.service_decide(service=service, actor=request.user, accept=decision == "accept")
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(
        request,
        _("The office now serves %(tenant)s.") % {"tenant": service.tenant.name}
        if decision == "accept"
        else _("The request of %(tenant)s was refused.") % {"tenant": service.tenant.name},
    )
    return _done(request, office, None)


@staff_required
def office_service_end_view(request: StaffRequest, office_id: str, service_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    service = access_office_service(office=office, service_id=service_id)
    try:
        offices.service_end(service=service, actor=request.user)
    except offices.OfficeError as error:
        return _done(request, office, error)
    messages.success(
        request, _("The office no longer serves %(tenant)s.") % {"tenant": service.tenant.name}
    )
    return _done(request, office, None)


# --- invitations (whistle.accounts.invitations) ---------------------------------------------


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address of the new member"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role in the office"),
        choices=[
            (Invitation.Role.HANDLER, gettext_lazy("Handler")),
            (Invitation.Role.LEAD, gettext_lazy("Office lead")),
        ],
        initial=Invitation.Role.HANDLER,
    )


def _invite_form() -> InviteForm:
    return InviteForm()


@staff_required
def office_invite_view(request: StaffRequest, office_id: str) -> HttpResponse:
    office = access_managed_office(user=request.user, office_id=office_id)
    if (refused := _post_only(request)) is not None:
        return refused
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            offices.member_invite(
                office=office,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as error:
            form.add_error("email", error)
        except offices.OfficeError as error:
            form.add_error("role", str(error))
        else:
            messages.success(
                request,
                _(
                    "The invitation was sent to %(email)s. Once they have set up their account, "
                    "grant them access on the key page."
                )
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("console:office", office_id=office.public_id)
    # What was typed stays in the form, with the message next to it.
    return _office_page(request, office, invite_form=form)
