from __future__ import annotations

from django.urls import path

from whistle.keys import views

app_name = "keys"

urlpatterns = [
    path("offices/<uuid:office_id>/keys/", views.keys_view, name="office"),
    path("offices/<uuid:office_id>/keys/setup/", views.keys_setup_view, name="setup"),
    path("offices/<uuid:office_id>/keys/rotate/", views.keys_rotate_view, name="rotate"),
    path("offices/<uuid:office_id>/keys/recover/", views.keys_recover_view, name="recover"),
    path(
        "offices/<uuid:office_id>/keys/recovery-stored/",
        views.keys_recovery_stored_view,
        name="recovery_stored",
    ),
    path(
        "offices/<uuid:office_id>/keys/grant/<uuid:user_id>/",
        views.keys_grant_view,
        name="grant",
    ),
]
