from django.urls import path

from homesafe.stats import views

app_name = "stats"

urlpatterns = [
    path("statistics/", views.public_index, name="public_index"),
    path("statistics/<slug:org_slug>/", views.public_page, name="public"),
    path("statistics/<slug:org_slug>/release.csv", views.public_csv, name="public_csv"),
    path("insights/", views.dashboard, name="dashboard"),
    path("insights/release/", views.publish, name="publish"),
    path("insights/settings/", views.settings_update, name="settings"),
    path("insights/summaries/", views.summaries, name="summaries"),
    path("insights/summaries/<str:summary_id>/approve/", views.approve, name="approve"),
    path("insights/pack.pdf", views.pack_pdf, name="pack_pdf"),
    path("insights/pack.csv", views.pack_csv, name="pack_csv"),
]
