"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import (
    documents_views,
    offboarding_views,
    office_views,
    operator_views,
    questionnaire_views,
    settings_views,
    setup_views,
)

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
    # setup: the tenant page, its settings and the set-up wizard
    path("tenants/<uuid:tenant_id>/admin/", setup_views.tenant_view, name="tenant"),
    path("tenants/<uuid:tenant_id>/admin/logo", setup_views.tenant_logo_view, name="tenant_logo"),
    path(
        "tenants/<uuid:tenant_id>/settings/",
        settings_views.tenant_settings_view,
        name="tenant_settings",
    ),
    path("tenants/<uuid:tenant_id>/preview/", setup_views.texts_preview_view, name="texts_preview"),
    path("tenants/<uuid:tenant_id>/setup/", setup_views.setup_view, name="setup"),
    path(
        "tenants/<uuid:tenant_id>/setup/<slug:step>/",
        setup_views.setup_step_view,
        name="setup_step",
    ),
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
    # Operator console (operator staff only; 404 for everyone else).
    path("operator/", operator_views.operator_home_view, name="operator"),
    path(
        "operator/tenants/new/",
        operator_views.operator_tenant_create_view,
        name="operator_tenant_create",
    ),
    path(
        "operator/tenants/<uuid:tenant_id>/",
        operator_views.operator_tenant_view,
        name="operator_tenant",
    ),
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
    path(
        "tenants/<uuid:tenant_id>/questionnaire/",
        questionnaire_views.questionnaire_view,
        name="questionnaire",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/translate/",
        questionnaire_views.questionnaire_translate_view,
        name="questionnaire_translate",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/preview/",
        questionnaire_views.questionnaire_preview_view,
        name="questionnaire_preview",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/export/",
        questionnaire_views.questionnaire_export_view,
        name="questionnaire_export",
    ),
    path(
        "tenants/<uuid:tenant_id>/questionnaire/import/",
        questionnaire_views.questionnaire_import_view,
        name="questionnaire_import",
    ),
    path(
        "tenants/<uuid:tenant_id>/accessibility/",
        documents_views.accessibility_statement_view,
        name="accessibility_statement",
    ),
    path(
        "tenants/<uuid:tenant_id>/accessibility/feedback/<uuid:feedback_id>/delete/",
        documents_views.accessibility_feedback_delete_view,
        name="accessibility_feedback_delete",
    ),
    path("tenants/<uuid:tenant_id>/poster/", documents_views.poster_view, name="poster"),
    path(
        "tenants/<uuid:tenant_id>/poster/poster.pdf",
        documents_views.poster_pdf_view,
        name="poster_pdf",
    ),
    path(
        "tenants/<uuid:tenant_id>/poster/card.pdf",
        documents_views.card_pdf_view,
        name="card_pdf",
    ),
    path(
        "tenants/<uuid:tenant_id>/compliance/",
        documents_views.compliance_view,
        name="compliance",
    ),
    path(
        "tenants/<uuid:tenant_id>/compliance/pack.pdf",
        documents_views.compliance_pdf_view,
        name="compliance_pdf",
    ),
    path(
        "tenants/<uuid:tenant_id>/compliance/pack.html",
        documents_views.compliance_html_view,
        name="compliance_html",
    ),
]
