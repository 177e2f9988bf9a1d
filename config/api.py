"""The JSON API: one NinjaAPI, routers mounted per app, one domain-error handler."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from homesafe.common.errors import DomainError

api = NinjaAPI(
    title="homesafe API",
    version="0.1.0",
    description="Report hate incidents, follow them up with a reference code, run casework.",
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    return api.create_response(request, body, status=exc.status)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "data")]
        problems.append({"field": ".".join(loc), "message": str(err.get("msg", "invalid"))})
    return api.create_response(
        request,
        {
            "error": "invalid",
            "message": _("Some answers could not be accepted."),
            "problems": problems,
        },
        status=422,
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja's own refusals (such as a body that is not JSON) use the same shape as ours.
    code = "bad_request" if exc.status_code == 400 else "error"
    return api.create_response(
        request, {"error": code, "message": str(exc.message)}, status=exc.status_code
    )


@api.exception_handler(AuthenticationError)
def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"error": "unauthenticated", "message": _("Log in first.")}, status=401
    )


def _mount() -> None:
    from homesafe.reports.api import case_router, public_router

    api.add_router("/reports", public_router)
    api.add_router("/case", case_router)

    from homesafe.walks.api import volunteer_router, walk_router, watch_router

    api.add_router("/walks", walk_router)
    api.add_router("/volunteer", volunteer_router)
    api.add_router("/watch", watch_router)

    from homesafe.evidence.api import router as evidence_router

    api.add_router("/evidence", evidence_router)


_mount()
