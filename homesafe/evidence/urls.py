from django.urls import path

from homesafe.evidence import views

app_name = "evidence"
urlpatterns = [
    path("drop/<str:token>/", views.dropbox_page, name="dropbox"),
    path("case/<str:report_id>/drop-boxes/", views.dropbox_create, name="dropbox_create"),
    path(
        "case/<str:report_id>/drop-boxes/<str:dropbox_id>/close/",
        views.dropbox_close,
        name="dropbox_close",
    ),
    path("case/<str:report_id>/evidence/<str:item_id>/copy/", views.item_view, name="item_view"),
    path(
        "case/<str:report_id>/evidence/<str:item_id>/original/",
        views.item_download,
        name="item_download",
    ),
]
