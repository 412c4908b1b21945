"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from console import documents_views, offboarding_views, questionnaire_views

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = [
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
