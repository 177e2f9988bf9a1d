from django.urls import path

from homesafe.reports import views

urlpatterns = [
    path("report/", views.report_form, name="report_form"),
    path("follow-up/", views.followup, name="report_followup"),
    path("follow-up/message/", views.followup_message, name="report_followup_message"),
    path("follow-up/consent/", views.followup_consent, name="report_followup_consent"),
    path("follow-up/forget/", views.followup_forget, name="report_followup_forget"),
    path("case/", views.case_queue, name="case_queue"),
    path("case/<str:report_id>/", views.case_detail, name="case_detail"),
    path("case/<str:report_id>/update/", views.update, name="case_update"),
    path("case/<str:report_id>/note/", views.note, name="case_note"),
    path("case/<str:report_id>/reply/", views.reply, name="case_reply"),
]
