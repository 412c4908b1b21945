from __future__ import annotations

from django.urls import path

from casework import export_views, flood_views, handover_views, stats_views, views

app_name = "casework"

urlpatterns = [
    path("inbox/", views.all_inboxes_view, name="all"),
    path("offices/<uuid:office_id>/", views.inbox_view, name="inbox"),
    path("offices/<uuid:office_id>/record/", views.record_view, name="record"),
    path("offices/<uuid:office_id>/set-aside/", flood_views.set_apart_view, name="set_apart"),
    path(
        "offices/<uuid:office_id>/statistics/",
        stats_views.office_stats_view,
        name="office_stats",
    ),
    path(
        "offices/<uuid:office_id>/statistics/csv/",
        stats_views.office_stats_csv_view,
        name="office_stats_csv",
    ),
    path(
        "tenants/<uuid:tenant_id>/statistics/",
        stats_views.tenant_stats_view,
        name="tenant_stats",
    ),
    path(
        "tenants/<uuid:tenant_id>/statistics/csv/",
        stats_views.tenant_stats_csv_view,
        name="tenant_stats_csv",
    ),
    path("offices/<uuid:office_id>/cases/<uuid:case_id>/", views.case_view, name="case"),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/do/<slug:action>/",
        views.case_action_view,
        name="act",
    ),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/export/",
        export_views.export_view,
        name="export",
    ),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/handover/",
        handover_views.handover_view,
        name="handover",
    ),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/files/<uuid:attachment_id>/",
        views.attachment_download_view,
        name="attachment",
    ),
]
