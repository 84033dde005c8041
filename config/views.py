import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config.celery import app as celery_app
from core.api.errors import body_too_large

logger = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # The embedded broker is a local folder: nothing to ping.
        return "not configured"
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    return "ok"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the configured broker answer, 503 naming what failed."""
    report, healthy = {}, True
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            report[name] = check()
        except Exception as exc:  # any failure of a dependency is an unhealthy answer
            logger.warning("health check: %s failed: %s", name, exc)
            report[name] = "error"
            healthy = False
    report["status"] = "ok" if healthy else "error"
    return JsonResponse(report, status=200 if healthy else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# Django's own error answers. Under /api/ a client reads JSON, {"detail": ...} as the API's
# own errors; the Seller Center and the admin keep their pages.


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": body_too_large().detail}, status=413)
        if isinstance(exception, DisallowedHost):
            return JsonResponse({"detail": "This host name is not served here."}, status=400)
        return JsonResponse({"detail": "The request could not be read."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        detail = str(exception or "") or "You do not have permission to perform this action."
        return JsonResponse({"detail": detail}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
