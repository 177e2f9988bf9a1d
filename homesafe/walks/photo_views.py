"""The escort's photo: uploaded by the volunteer, shown only to the people on their walk and
that walk's trusted contacts (through the same access checkpoints as the walk pages)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from homesafe.common.errors import DomainError, NotFound
from homesafe.walks import selectors, services
from homesafe.walks.access import (
    access_volunteer_profile,
    access_walk,
    access_watch_by_session,
)
from homesafe.walks.models import VolunteerProfile


def _jpeg(profile: VolunteerProfile | None) -> HttpResponse:
    data = selectors.photo_bytes(profile) if profile is not None else None
    if data is None:
        raise Http404()
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


def escort_photo(request: HttpRequest, walk_id: str) -> HttpResponse:
    """For the requester, the escort themself, or a contact holding a live watch link."""
    try:
        walk, _role = access_walk(request.user, walk_id)
    except NotFound:
        try:
            walk = access_watch_by_session(request.session, walk_id).walk
        except NotFound:
            raise Http404()
    return _jpeg(walk.escort)


@login_required
def my_photo(request: HttpRequest) -> HttpResponse:
    try:
        return _jpeg(access_volunteer_profile(request.user))
    except NotFound:
        raise Http404()


@login_required
@require_POST
def my_photo_upload(request: HttpRequest) -> HttpResponse:
    try:
        profile = access_volunteer_profile(request.user)
    except NotFound:
        raise Http404()
    if request.POST.get("remove"):
        services.volunteer_photo_remove(profile=profile)
        return redirect("walks:volunteer")
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            raise DomainError(_("Choose a photo first."), field="photo")
        services.volunteer_photo_set(profile=profile, upload=upload)
    except DomainError as exc:
        from homesafe.walks.views import _volunteer_page

        return _volunteer_page(request, errors={"photo": [exc.message]}, status=400)
    return redirect("walks:volunteer")
