"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import offboarding_views, office_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    # offices and members (console/office_views.py)
    path(
        "tenants/<uuid:tenant_id>/offices/new/",
        office_views.office_create_view,
        name="office_create",
    ),
    path(
        "tenants/<uuid:tenant_id>/offices/shared/",
        office_views.tenant_services_view,
        name="office_service_request",
    ),
    path(
        "tenants/<uuid:tenant_id>/offices/shared/<uuid:service_id>/end/",
        office_views.tenant_service_end_view,
        name="tenant_service_end",
    ),
    path("offices/<uuid:office_id>/manage/", office_views.office_view, name="office"),
    path(
        "offices/<uuid:office_id>/manage/invite/",
        office_views.office_invite_view,
        name="office_invite",
    ),
    path(
        "offices/<uuid:office_id>/manage/external/",
        office_views.office_external_view,
        name="office_external",
    ),
    path(
        "offices/<uuid:office_id>/manage/code/",
        office_views.office_code_view,
        name="office_code",
    ),
    path(
        "offices/<uuid:office_id>/manage/members/<uuid:user_id>/remove/",
        office_views.member_remove_view,
        name="office_member_remove",
    ),
    path(
        "offices/<uuid:office_id>/manage/members/<uuid:user_id>/role/",
        office_views.member_role_view,
        name="office_member_role",
    ),
    path(
        "offices/<uuid:office_id>/manage/services/<uuid:service_id>/decide/",
        office_views.office_service_decide_view,
        name="office_service_decide",
    ),
    path(
        "offices/<uuid:office_id>/manage/services/<uuid:service_id>/end/",
        office_views.office_service_end_view,
        name="office_service_end",
    ),
    path("offices/<uuid:office_id>/absence/", office_views.absence_view, name="office_absence"),
    path(
        "tenants/<uuid:tenant_id>/export/",
        offboarding_views.tenant_export_view,
        name="tenant_export",
    ),
    path(
        "operator/tenants/<uuid:tenant_id>/delete/",
        offboarding_views.tenant_delete_view,
        name="tenant_delete",
    ),
]
