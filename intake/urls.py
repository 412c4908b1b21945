from __future__ import annotations

from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.landing_view, name="landing"),
    path("logo", views.logo_view, name="logo"),
]
