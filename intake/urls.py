from __future__ import annotations

from django.urls import path

from intake.views import consent, landing, mailbox, mailbox_files, report

app_name = "intake"

urlpatterns = [
    path("", landing.landing_view, name="landing"),
    path("logo", landing.logo_view, name="logo"),
    path("brand.css", landing.brand_css_view, name="brand_css"),
    path("accessibility/", landing.accessibility_view, name="accessibility"),
    path("report/", report.start_view, name="start"),
    path("report/step/<slug:step_id>/", report.step_view, name="step"),
    path("report/contact/", report.contact_view, name="contact"),
    path("report/check/", report.check_view, name="check"),
    path("report/submit/", report.submit_view, name="submit"),
    path("report/receipt/", report.receipt_view, name="receipt"),
    path("report/done/", report.done_view, name="done"),
    path("mailbox/", mailbox.mailbox_view, name="mailbox"),
    path("mailbox/message/", mailbox.message_view, name="message"),
    path("mailbox/logout/", mailbox.logout_view, name="mailbox_logout"),
    path(
        "mailbox/files/<uuid:attachment_id>/",
        mailbox_files.mailbox_file_view,
        name="mailbox_file",
    ),
    path("mailbox/consent/<uuid:disclosure_id>/", consent.consent_view, name="consent"),
]
