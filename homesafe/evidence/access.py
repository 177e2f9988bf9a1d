"""The one access checkpoint for evidence (STYLE.md §2): upload targets, drop boxes, uploads
in progress and stored items. Anything the caller may not use is NotFound, never a hint."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from homesafe.audit.services import audit_append
from homesafe.common.errors import NotFound
from homesafe.evidence.models import DropBox, EvidenceItem, Source, Upload
from homesafe.reports.access import (
    access_report,
    access_report_by_followup,
    case_organisation_ids,
    is_verified,
    parse_id,
)
from homesafe.reports.models import Report

# Session key the report form sets right after a report is submitted: the report's id (str),
# or {"id": str, "at": unix time}. Uploading "just after submitting" is allowed for this long.
SUBMITTED_SESSION_KEY = "evidence.submitted"
SUBMITTED_SECONDS = 2 * 3600
# Item ids whose receipts this browser session may fetch again (the uploader's own items).
RECEIPTS_SESSION_KEY = "evidence.receipts"
# The follow-up page's session key and lifetime (homesafe/reports/views.py).
FOLLOWUP_SESSION_KEY = "homesafe_followup"
FOLLOWUP_SECONDS = 30 * 60


@dataclass(frozen=True)
class UploadTarget:
    """Where an upload goes and on whose behalf: decided here, trusted by the services."""

    report: Report
    source: str
    dropbox: DropBox | None = None
    user: Any = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def access_dropbox_by_token(token: str) -> DropBox:
    """The open drop box this link token opens; unknown, expired and closed look the same."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        raise NotFound()
    box = (
        DropBox.objects.filter(token_hash=token_hash(token), closed_at__isnull=True)
        .select_related("report", "report__organisation")
        .first()
    )
    if box is None or box.expires_at <= timezone.now():
        raise NotFound()
    return box


def remember_submitted(session: Any, report: Report) -> None:
    """Called by the report form after a submission: this session may now add evidence."""
    session[SUBMITTED_SESSION_KEY] = {"id": str(report.pk), "at": time.time()}


def _session_report_id(session: Any, key: str, lifetime: float) -> str | None:
    held = session.get(key)
    if isinstance(held, str):
        return held
    if isinstance(held, dict) and held.get("id"):
        if time.time() - float(held.get("at", 0) or 0) > lifetime:
            return None
        return str(held["id"])
    return None


def access_upload_target(request: Any, target: dict[str, Any]) -> UploadTarget:
    """Resolve the protocol's "target" object for this request (session, user) or NotFound."""
    if not isinstance(target, dict):
        raise NotFound()
    session = request.session
    user = getattr(request, "user", None)
    if target.get("dropbox"):
        box = access_dropbox_by_token(str(target["dropbox"]))
        return UploadTarget(report=box.report, source=Source.DROPBOX, dropbox=box)
    if target.get("followup") is True:
        rid = _session_report_id(session, FOLLOWUP_SESSION_KEY, FOLLOWUP_SECONDS)
        if rid is None:
            raise NotFound()
        return UploadTarget(report=access_report_by_followup(rid), source=Source.FOLLOWUP)
    if target.get("submitted") is True:
        rid = _session_report_id(session, SUBMITTED_SESSION_KEY, SUBMITTED_SECONDS)
        if rid is None:
            raise NotFound()
        return UploadTarget(report=access_report_by_followup(rid), source=Source.SUBMITTED)
    if target.get("report"):
        report = access_report(user, target["report"], purpose="evidence_upload")
        return UploadTarget(report=report, source=Source.STAFF, user=user)
    raise NotFound()


def access_upload(upload_id: str) -> Upload:
    """The unfinished, unexpired upload this opaque id names (the id is the capability)."""
    if not isinstance(upload_id, str) or not 32 <= len(upload_id) <= 100:
        raise NotFound()
    upload = Upload.objects.filter(key_hash=token_hash(upload_id)).select_related("dropbox").first()
    if upload is None or upload.expires_at <= timezone.now():
        raise NotFound()
    # A drop box that expired or was closed stops its uploads in flight too.
    if upload.dropbox is not None and not upload.dropbox.is_open():
        raise NotFound()
    return upload


def staff_may_see(request: Any, report: Report) -> bool:
    """True for verified staff of the report's organisation (not for its reporter)."""
    return _staff_may_see(getattr(request, "user", None), report)


def _staff_may_see(user: Any, report: Report) -> bool:
    return (
        is_verified(user)
        and report.consent_caseworkers
        and report.organisation_id in case_organisation_ids(user)
    )


def _reporter_report_ids(request: Any) -> set[str]:
    ids = set()
    for key, life in (
        (FOLLOWUP_SESSION_KEY, FOLLOWUP_SECONDS),
        (SUBMITTED_SESSION_KEY, SUBMITTED_SECONDS),
    ):
        rid = _session_report_id(request.session, key, life)
        if rid:
            ids.add(rid)
    return ids


def reporter_may_see(request: Any, report: Report) -> bool:
    """The reporter: logged in as the report's author, or holding it in this session."""
    user = getattr(request, "user", None)
    if (
        user is not None
        and getattr(user, "is_authenticated", False)
        and report.reporter_user_id is not None
        and report.reporter_user_id == user.pk
    ):
        return True
    return str(report.pk) in _reporter_report_ids(request)


def access_item(request: Any, item_id: object, *, purpose: str = "view") -> EvidenceItem:
    """The item with this id if the caller may see it: verified staff of the report's
    organisation, or its reporter. Every such access is appended to the custody trail
    (`purpose`: view, download, viewing_copy, export, receipt)."""
    iid = parse_id(item_id)
    item = (
        EvidenceItem.objects.filter(id=iid).select_related("report", "report__organisation").first()
    )
    if item is None:
        raise NotFound()
    user = getattr(request, "user", None)
    if _staff_may_see(user, item.report):
        actor_kind = None
    elif reporter_may_see(request, item.report):
        actor_kind = "reporter"
    else:
        raise NotFound()
    record_custody(item, action=purpose, actor=user, actor_kind=actor_kind)
    return item


def access_receipt_item(request: Any, item_id: object) -> EvidenceItem:
    """An item whose receipt this caller may fetch: its uploader's session (drop-box uploaders
    included), or anyone `access_item` admits. Audited as a receipt read."""
    held = request.session.get(RECEIPTS_SESSION_KEY) or []
    if str(item_id) in held:
        item = EvidenceItem.objects.filter(id=str(item_id)).select_related("report").first()
        if item is None:
            raise NotFound()
        record_custody(item, action="receipt", actor=None, actor_kind="uploader")
        return item
    return access_item(request, item_id, purpose="receipt")


def access_report_for_evidence(request: Any, report_id: object) -> Report:
    """A report whose evidence list this caller may read (staff of its organisation)."""
    return access_report(getattr(request, "user", None), report_id, purpose="evidence_list")


def record_custody(
    item: EvidenceItem,
    *,
    action: str,
    actor: Any = None,
    actor_kind: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one custody entry (view, download, export, ...) for an item to the audit log."""
    audit_append(
        action=f"evidence.{action}",
        object_type="evidence",
        object_id=item.pk,
        actor=actor,
        actor_kind=actor_kind,
        organisation_id=item.report.organisation_id,
        data={"sha256": item.sha256, **(data or {})},
    )


def access_dropbox(request: Any, dropbox_id: object) -> DropBox:
    """A drop box by id for staff who may work on its report (to close it, list it)."""
    did = parse_id(dropbox_id)
    box = DropBox.objects.filter(id=did).select_related("report").first()
    if box is None:
        raise NotFound()
    access_report(getattr(request, "user", None), box.report_id, purpose="dropbox")
    return box
