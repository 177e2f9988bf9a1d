from django.urls import path

from homesafe.reports import views

urlpatterns = [
    path("report/", views.report_form, name="report_form"),
    path("follow-up/", views.followup, name="report_followup"),
    path("follow-up/message/", views.followup_message, name="report_followup_message"),
    path("follow-up/consent/", views.followup_consent, name="report_followup_consent"),
    path("follow-up/police/", views.followup_police, name="report_followup_police"),
    path("follow-up/forget/", views.followup_forget, name="report_followup_forget"),
    path("case/", views.case_queue, name="case_queue"),
    path("case/export.csv", views.case_queue_csv, name="case_queue_csv"),
    path("case/<str:report_id>/", views.case_detail, name="case_detail"),
    path("case/<str:report_id>/update/", views.update, name="case_update"),
    path("case/<str:report_id>/note/", views.note, name="case_note"),
    path("case/<str:report_id>/reply/", views.reply, name="case_reply"),
    path("case/<str:report_id>/police/", views.police, name="case_police"),
    path("case/<str:report_id>/case-file.pdf", views.case_pdf, name="case_pdf"),
    path("police/", views.liaison_list, name="police_list"),
    path("police/<str:report_id>/", views.liaison_detail, name="police_detail"),
    path("police/<str:report_id>/update/", views.liaison_update, name="police_update"),
    path("police/<str:report_id>/case-file.pdf", views.liaison_pdf, name="police_pdf"),
]
