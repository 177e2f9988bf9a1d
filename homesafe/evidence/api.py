"""Evidence endpoints: the resumable upload protocol, receipts, the public Merkle log and
staff reads. Handlers parse input, call one service or selector, and answer."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited
from ninja import Router
from ninja.responses import Status
from ninja.security import django_auth
from ninja.utils import check_csrf

from homesafe.common.errors import DomainError, NotFound
from homesafe.evidence import access, responses, selectors, services
from homesafe.evidence.conf import CHUNK_BYTES
from homesafe.evidence.errors import OffsetConflict, RateLimited, Unsupported
from homesafe.evidence.models import Source, TreeHead
from homesafe.evidence.schemas import (
    DropBoxIn,
    DropBoxOut,
    ErrorOut,
    ItemDetailOut,
    ItemOut,
    OffsetOut,
    TreeHeadOut,
    UploadIn,
    UploadOut,
)

router = Router(tags=["evidence"])

OFFSET_TYPE = "application/offset+octet-stream"


class CsrfFailed(DomainError):
    status = 403


def _csrf(request: HttpRequest) -> None:
    # The upload targets rest on the session cookie, so every write needs the CSRF header.
    if check_csrf(request) is not None:
        raise CsrfFailed(_("The page expired. Reload it and try again."), code="csrf")


def _remember_receipt(request: HttpRequest, item_id: str) -> None:
    held = list(request.session.get(access.RECEIPTS_SESSION_KEY) or [])
    if item_id not in held:
        held = [*held[-49:], item_id]
        request.session[access.RECEIPTS_SESSION_KEY] = held


def _starts_limited(request: HttpRequest) -> bool:
    return bool(
        is_ratelimited(
            request,
            group="evidence-start",
            key="ip",
            rate=settings.RATE_EVIDENCE_START,
            increment=True,
        )
    )


@router.post(
    "/uploads",
    response={
        201: UploadOut,
        400: ErrorOut,
        404: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        429: ErrorOut,
    },
    summary="Start a resumable evidence upload",
)
def upload_start(request: HttpRequest, payload: UploadIn) -> Any:
    _csrf(request)
    target = access.access_upload_target(request, payload.target)
    if target.source != Source.STAFF and _starts_limited(request):
        # Drop boxes and reporters need no account: cap how many files one address can
        # start, so a leaked link cannot fill the disk.
        raise RateLimited(
            _("Too many files from this connection. Wait a while and try again."),
            code="rate_limited",
        )
    upload, upload_id = services.upload_begin(
        target=target,
        filename=payload.filename,
        size=payload.size,
        content_type=payload.content_type,
    )
    return Status(
        201,
        {
            "upload": upload_id,
            "chunk_size": CHUNK_BYTES,
            "offset": 0,
            "expires_at": upload.expires_at,
        },
    )


def _upload_headers(response: HttpResponse, offset: int, size: int) -> HttpResponse:
    response["Upload-Offset"] = str(offset)
    response["Upload-Length"] = str(size)
    response["Cache-Control"] = "no-store"
    return response


@router.api_operation(
    ["GET", "HEAD"],
    "/uploads/{upload_id}",
    response={200: OffsetOut, 404: ErrorOut},
    summary="Where an upload stands (resume from `offset`)",
    exclude_none=True,
)
def upload_status(request: HttpRequest, upload_id: str, response: HttpResponse) -> Any:
    upload = access.access_upload(upload_id)
    _upload_headers(response, upload.offset, upload.size)
    return {"offset": upload.offset, "size": upload.size}


def _checksum(header: str) -> bytes | None:
    if not header:
        return None
    algorithm, _sep, value = header.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise DomainError(_("Only sha256 chunk checksums are supported."), code="bad_checksum")
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(_("The chunk checksum is not valid base64."), code="bad_checksum")
    if len(digest) != 32:
        raise DomainError(_("The chunk checksum is not a SHA-256."), code="bad_checksum")
    return digest


def chunk_headers(request: HttpRequest) -> tuple[int, int, bytes | None]:
    """A chunk's content type, Upload-Offset, Content-Length and Upload-Checksum, checked."""
    if request.content_type != OFFSET_TYPE:
        raise Unsupported(
            _("Send chunks as application/offset+octet-stream."), code="bad_content_type"
        )
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise DomainError(_("Upload-Offset and Content-Length must be numbers."), code="bad_offset")
    return offset, length, _checksum(request.headers.get("Upload-Checksum", ""))


@router.patch(
    "/uploads/{upload_id}",
    response={
        200: OffsetOut,
        400: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        415: ErrorOut,
        460: ErrorOut,
    },
    summary="Send the next chunk (raw bytes; Upload-Offset header)",
    description=(
        "The body is the chunk's raw bytes (`application/offset+octet-stream`, a multiple of "
        "64 KiB except the last chunk, at most `chunk_size`), with `Upload-Offset` and "
        "optionally `Upload-Checksum: sha256 <base64>`. The server streams each chunk into "
        "encrypted storage as it arrives. The upload id is the capability: every chunk but "
        "the last is accepted without the session; the last one finalises the item, keeps its "
        "receipt in the session and needs the CSRF header, like starting the upload."
    ),
    exclude_none=True,
    openapi_extra={
        "requestBody": {
            "content": {OFFSET_TYPE: {"schema": {"type": "string", "format": "binary"}}}
        }
    },
)
def upload_chunk(request: HttpRequest, upload_id: str, response: HttpResponse) -> Any:
    # Every chunk but the last is normally received before Django, streamed straight into the
    # segment writer (homesafe/evidence/asgi.py); this route answers the same way and receives
    # the last chunk (it remembers the receipt in the session) and any chunk sent elsewhere.
    _csrf(request)
    upload = access.access_upload(upload_id)
    offset, length, checksum = chunk_headers(request)
    try:
        result = services.upload_append(
            upload=upload, offset=offset, body=request, length=length, checksum=checksum
        )
    except OffsetConflict as exc:
        _upload_headers(response, exc.offset, upload.size)
        return Status(409, {"error": exc.code, "message": exc.message, "offset": exc.offset})
    _upload_headers(response, result.offset, upload.size)
    if result.item is None:
        return {"offset": result.offset}
    _remember_receipt(request, str(result.item.pk))
    return {"offset": result.offset, "item": str(result.item.pk), "receipt": result.receipt}


@router.delete(
    "/uploads/{upload_id}", response={204: None, 404: ErrorOut}, summary="Abandon an upload"
)
def upload_delete(request: HttpRequest, upload_id: str) -> Any:
    _csrf(request)
    services.upload_abort(upload=access.access_upload(upload_id))
    return Status(204, None)


@router.get(
    "/receipts/{item_id}",
    response={200: dict[str, Any], 404: ErrorOut},
    summary="The receipt of an item you uploaded",
)
def receipt(request: HttpRequest, item_id: str) -> Any:
    return services.receipt_for(access.access_receipt_item(request, item_id))


@router.get(
    "/log/head", response={200: TreeHeadOut, 404: ErrorOut}, summary="Newest signed tree head"
)
def log_head(request: HttpRequest) -> Any:
    head = TreeHead.objects.order_by("-tree_size").first()
    if head is None:
        raise NotFound()
    return {**services.head_json(head), "public_key": services.public_key_b64()}


@router.get(
    "/log/consistency",
    response={200: dict[str, Any], 404: ErrorOut},
    summary="Proof that the log at size `second` extends the log at size `first`",
)
def log_consistency(request: HttpRequest, first: int, second: int | None = None) -> Any:
    return services.consistency_document(first=first, second=second)


# --- staff ---------------------------------------------------------------------------------


def _item_out(row: selectors.ItemRow) -> dict[str, Any]:
    return row.__dict__


@router.get(
    "/reports/{report_id}/items",
    response=list[ItemOut],
    auth=django_auth,
    summary="A report's evidence",
)
def report_items(request: HttpRequest, report_id: str) -> Any:
    report = access.access_report_for_evidence(request, report_id)
    return [_item_out(r) for r in selectors.report_items(report)]


@router.get(
    "/items/{item_id}", response=ItemDetailOut, summary="One item, with metadata and custody"
)
def item_detail(request: HttpRequest, item_id: str) -> Any:
    item = access.access_item(request, item_id, purpose="view")
    staff = access.staff_may_see(request, item.report)
    row = next(r for r in selectors.report_items(item.report) if r.id == str(item.pk))
    return {
        **_item_out(row),
        "filename": selectors.item_filename(item),
        "metadata": selectors.item_metadata(item),
        "custody": [
            # A reporter sees when and what, not which staff account.
            entry if staff else {**entry, "actor_id": None}
            for entry in selectors.custody_trail(item)
        ],
    }


@router.get("/items/{item_id}/original", summary="Download the original (streamed)")
def item_original(request: HttpRequest, item_id: str) -> StreamingHttpResponse:
    return responses.original_response(
        access.access_item(request, item_id, purpose="download"), request
    )


@router.get("/items/{item_id}/view", summary="The metadata-stripped viewing copy")
def item_view(request: HttpRequest, item_id: str) -> Any:
    item = access.access_item(request, item_id, purpose="viewing_copy")
    if item.viewing_status != "ready":
        raise NotFound(selectors.viewing_copy_note(item))
    return responses.viewing_copy_response(item, request)


@router.post(
    "/reports/{report_id}/dropboxes",
    response={201: DropBoxOut, 400: ErrorOut, 404: ErrorOut},
    auth=django_auth,
    summary="Open a drop box link for bystanders",
)
def dropbox_open(request: HttpRequest, report_id: str, payload: DropBoxIn) -> Any:
    report = access.access_report_for_evidence(request, report_id)
    box, token = services.dropbox_create(
        report=report,
        user=request.user,
        expires_in=timedelta(hours=payload.expires_in_hours),
        label=payload.label,
    )
    return Status(
        201,
        {
            "id": str(box.pk),
            "token": token,
            "link": f"/drop/{token}/",
            "expires_at": box.expires_at,
        },
    )


@router.post(
    "/dropboxes/{dropbox_id}/close",
    response={200: DropBoxOut, 404: ErrorOut},
    auth=django_auth,
    summary="Close a drop box",
)
def dropbox_shut(request: HttpRequest, dropbox_id: str) -> Any:
    box = services.dropbox_close(
        dropbox=access.access_dropbox(request, dropbox_id), user=request.user
    )
    return {"id": str(box.pk), "expires_at": box.expires_at, "closed_at": box.closed_at}
