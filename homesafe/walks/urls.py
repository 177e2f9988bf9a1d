from django.urls import path

from homesafe.walks import photo_views, views

app_name = "walks"
urlpatterns = [
    path("walk/", views.walk_request, name="request"),
    path("walk/<uuid:walk_id>/", views.walk_live, name="live"),
    path("walk/<uuid:walk_id>/checkin/", views.walk_checkin, name="checkin"),
    path("walk/<uuid:walk_id>/sos/", views.walk_sos, name="sos"),
    path("walk/<uuid:walk_id>/unshare/", views.walk_unshare, name="unshare"),
    path("walk/<uuid:walk_id>/cancel/", views.walk_cancel, name="cancel"),
    path("walk/<uuid:walk_id>/watched/", views.walk_watched, name="watched"),
    path("walk/<uuid:walk_id>/handover/", views.walk_handover, name="handover"),
    path("walk/<uuid:walk_id>/feedback/", views.walk_feedback, name="feedback"),
    path("w/<str:token>/", views.watch, name="watch"),
    path("walk/<uuid:walk_id>/escort-photo/", photo_views.escort_photo, name="escort_photo"),
    path("volunteer/photo/", photo_views.my_photo, name="my_photo"),
    path("volunteer/photo/upload/", photo_views.my_photo_upload, name="my_photo_upload"),
    path("volunteer/", views.volunteer, name="volunteer"),
    path("volunteer/apply/", views.volunteer_apply, name="volunteer_apply"),
    path("volunteer/duty/", views.volunteer_duty, name="volunteer_duty"),
    path("volunteer/offers/<uuid:offer_id>/accept/", views.offer_accept, name="offer_accept"),
    path("volunteer/offers/<uuid:offer_id>/decline/", views.offer_decline, name="offer_decline"),
    path("account/contacts/", views.contacts, name="contacts"),
    path("account/contacts/<uuid:contact_id>/remove/", views.contact_remove, name="contact_remove"),
    path("account/places/", views.places, name="places"),
    path("account/places/<uuid:place_id>/remove/", views.place_remove, name="place_remove"),
    path("staff/volunteers/", views.staff_volunteers, name="staff_volunteers"),
    path("staff/volunteers/<uuid:profile_id>/approve/", views.staff_approve, name="staff_approve"),
    path("staff/volunteers/<uuid:profile_id>/status/", views.staff_status, name="staff_status"),
]
