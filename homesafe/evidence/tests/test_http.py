"""The protocol over a real uvicorn (the ASGI path): chunks in, receipt out, and the original
streamed back to a verified caseworker block by block, byte-identical."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django_otp.plugins.otp_totp.models import TOTPDevice

from homesafe.evidence import services
from homesafe.evidence.tests.conftest import make_report


class Browser:
    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = dict(headers or {})
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        csrf = self.cookies.get(settings.CSRF_COOKIE_NAME)
        if csrf:
            hdrs["X-CSRFToken"] = csrf
        conn.request(method, path, body=body, headers=hdrs)
        response = conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";")[0]
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def test_it_uploads_and_streams_back_over_real_http(asgi_server: Any, personas: Any) -> None:
    report = make_report(personas.org, narrative="Filmed from a bus stop.")
    _box, token = services.dropbox_create(
        report=report, user=personas.caseworker, expires_in=timedelta(hours=1)
    )
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(3 * 1024 * 1024 + 5)
    bystander = Browser(asgi_server.port)
    bystander.call("GET", "/report/")
    status, _, body = bystander.call(
        "POST",
        "/api/evidence/uploads",
        json.dumps(
            {
                "target": {"dropbox": token},
                "filename": "IMG_0001.MOV",
                "size": len(data),
                "content_type": "video/quicktime",
            }
        ).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, body
    upload = json.loads(body)["upload"]
    chunk = 1024 * 1024
    offset = 0
    while offset < len(data):
        status, headers, body = bystander.call(
            "PATCH",
            f"/api/evidence/uploads/{upload}",
            data[offset : offset + chunk],
            {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
        )
        assert status == 200, body
        offset = json.loads(body)["offset"]
        assert headers["upload-offset"] == str(offset)
    done = json.loads(body)
    assert done["receipt"]["sha256"] == hashlib.sha256(data).hexdigest()

    staff = Browser(asgi_server.port)
    device = TOTPDevice.objects.get(user=personas.caseworker)
    session = SessionStore()
    session[SESSION_KEY] = str(personas.caseworker.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = personas.caseworker.get_session_auth_hash()
    session["otp_device_id"] = device.persistent_id
    session.create()
    staff.cookies[settings.SESSION_COOKIE_NAME] = session.session_key or ""
    status, headers, body = staff.call("GET", f"/api/evidence/items/{done['item']}/original")
    assert status == 200 and body == data
    assert headers["content-length"] == str(len(data))
    assert headers["content-disposition"].startswith("attachment;")
    # The bystander's browser cannot read it back.
    status, _, _ = bystander.call("GET", f"/api/evidence/items/{done['item']}/original")
    assert status == 404
