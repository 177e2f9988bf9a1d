from django.urls import URLPattern, path, re_path

from homesafe.cases import views

app_name = "cases"

SUBJECT = r"^cases/(?P<kind>report|incident)/(?P<subject_id>[0-9a-fA-F-]{1,40})"

urlpatterns: list[URLPattern] = [
    path("cases/incidents/", views.incident_list, name="incidents"),
    path("cases/incidents/new/", views.incident_create, name="incident_create"),
    path("cases/incident/<str:incident_id>/", views.incident_detail, name="incident_detail"),
    path("cases/incident/<str:incident_id>/rename/", views.incident_rename,
         name="incident_rename"),
    path("cases/incident/<str:incident_id>/link/", views.incident_link, name="incident_link"),
    path("cases/link/<str:link_id>/remove/", views.link_remove, name="link_remove"),
    path("cases/report/<str:report_id>/", views.report_casework, name="report_casework"),
    path("cases/report/<str:report_id>/duplicate/", views.report_duplicate,
         name="report_duplicate"),
    path("cases/report/<str:report_id>/join/", views.report_join, name="report_join"),
    path("cases/report/<str:report_id>/troll/", views.report_troll, name="report_troll"),
    path("cases/flag/<str:flag_id>/clear/", views.flag_clear, name="flag_clear"),
    re_path(SUBJECT + r"/task/$", views.task_add, name="task_add"),
    re_path(SUBJECT + r"/contact/$", views.contact_add, name="contact_add"),
    re_path(SUBJECT + r"/referral/$", views.referral_add, name="referral_add"),
    re_path(SUBJECT + r"/outcome/$", views.outcome_set, name="outcome_set"),
    path("cases/task/<str:item_id>/done/", views.task_done, name="task_done"),
    path("cases/task/<str:item_id>/reopen/", views.task_reopen, name="task_reopen"),
    path("cases/referral/<str:item_id>/status/", views.referral_status, name="referral_status"),
    path("cases/tasks/", views.my_tasks, name="my_tasks"),
]
