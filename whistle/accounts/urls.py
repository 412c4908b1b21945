from __future__ import annotations

from django.urls import path

from whistle.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("verify/", views.verify_view, name="verify"),
    path("enrol/", views.enrol_view, name="enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account_view, name="account"),
    path("invitation/<str:token>/", views.invitation_view, name="invitation"),
    path("", views.home_view, name="home"),
]
