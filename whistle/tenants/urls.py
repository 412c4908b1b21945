from __future__ import annotations

from django.urls import path

from whistle.tenants import views

app_name = "tenants"

urlpatterns = [
    path("tenants/<uuid:tenant_id>/", views.tenant_overview_view, name="overview"),
]
