"""Administration pages under /staff/: operator console, tenant set-up and settings, offices and
members, questionnaire editor, documents (poster, compliance pack), off-boarding."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "console"

urlpatterns: list[URLPattern | URLResolver] = []
