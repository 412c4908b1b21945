from __future__ import annotations

from django.urls import path

from casework import views

app_name = "casework"

urlpatterns = [
    path("offices/<uuid:office_id>/", views.inbox_view, name="inbox"),
    path("offices/<uuid:office_id>/record/", views.record_view, name="record"),
    path("offices/<uuid:office_id>/cases/<uuid:case_id>/", views.case_view, name="case"),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/do/<slug:action>/",
        views.case_action_view,
        name="act",
    ),
    path(
        "offices/<uuid:office_id>/cases/<uuid:case_id>/files/<uuid:attachment_id>/",
        views.attachment_download_view,
        name="attachment",
    ),
]
