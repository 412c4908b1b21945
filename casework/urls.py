from __future__ import annotations

from django.urls import path

from casework import views

app_name = "casework"

urlpatterns = [
    path("offices/<uuid:office_id>/", views.inbox_view, name="inbox"),
]
