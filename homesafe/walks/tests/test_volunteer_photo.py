"""The escort's photo: re-encoded without metadata, refused when it is not a photo, and shown
only to the people on the walk."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from homesafe.walks import services
from homesafe.walks.models import VolunteerProfile, WalkOffer
from homesafe.walks.tests.conftest import request_walk

pytestmark = pytest.mark.django_db


def _jpeg_with_gps(width: int = 1200, height: int = 900) -> bytes:
    image = Image.new("RGB", (width, height), (90, 40, 130))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x8825] = {2: (41.0, 17.0, 36.0), 4: (174.0, 46.0, 53.0)}  # GPS block
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_it_keeps_a_small_copy_without_metadata(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    original = _jpeg_with_gps()
    assert b"PhoneMaker" in original
    client = Client()
    client.force_login(volunteer.user)
    response = client.post(
        "/volunteer/photo/upload/",
        {"photo": SimpleUploadedFile("me.jpg", original, content_type="image/jpeg")},
    )
    assert response.status_code == 302
    stored = client.get("/volunteer/photo/")
    assert stored["Content-Type"] == "image/jpeg"
    assert b"PhoneMaker" not in stored.content
    with Image.open(io.BytesIO(stored.content)) as image:
        assert max(image.size) <= services.PHOTO_SIDE
        assert not image.getexif()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.jpg", b"not an image at all", b"not a photo we can read"),
        ("x.gif", b"GIF89a" + b"\x00" * 40, b"not a photo we can read"),
        ("empty.jpg", b"", b"Choose a photo"),
    ],
)
def test_it_refuses_what_is_not_a_photo(
    world: Any, name: str, content: bytes, message: bytes
) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    client = Client()
    client.force_login(volunteer.user)
    response = client.post(
        "/volunteer/photo/upload/",
        {"photo": SimpleUploadedFile(name, content, content_type="image/jpeg")},
    )
    assert response.status_code == 400
    assert message in response.content
    assert VolunteerProfile.objects.get(pk=volunteer.pk).photo is None


def test_it_refuses_a_decompression_bomb(world: Any) -> None:
    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # tiny file, 81 megapixels
    upload = SimpleUploadedFile("bomb.png", out.getvalue(), content_type="image/png")
    with pytest.raises(services.DomainError):
        services.volunteer_photo_set(profile=volunteer, upload=upload)


def test_only_people_on_the_walk_see_the_escorts_photo(world: Any) -> None:
    from homesafe.accounts.models import User

    volunteer = world.volunteer("v@example.org", north_m=100, east_m=0)
    services.volunteer_photo_set(
        profile=volunteer,
        upload=SimpleUploadedFile("me.jpg", _jpeg_with_gps(), content_type="image/jpeg"),
    )
    walk = request_walk(world)
    services.walk_accept(offer=WalkOffer.objects.get(walk=walk), profile=volunteer)
    url = f"/walk/{walk.pk}/escort-photo/"
    member = Client()
    member.force_login(world.member)
    assert member.get(url).status_code == 200
    assert b"data-escort-photo" in member.get(f"/walk/{walk.pk}/").content
    stranger = Client()
    stranger.force_login(User.objects.create_user(email="s@example.org", password="long pw 12"))
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 404
    token, digest = services._watch_token()
    from homesafe.walks.models import WalkWatch

    WalkWatch.objects.create(walk=walk, contact=world.contacts[0], token_hash=digest)
    contact = Client()
    assert contact.get(f"/w/{token}/").status_code == 200
    assert contact.get(url).status_code == 200
