from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware as DjangoCommonMiddleware

from config.views import healthz


class HealthCheckMiddleware:
    """Answers /healthz before the host check and the HTTPS redirect, so that a probe on
    the container's own address (not an allowed host, plain http) gets the real answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return healthz(request)
        return self.get_response(request)


class CommonMiddleware(DjangoCommonMiddleware):
    """Django's, except that API paths are never redirected to add a slash: a client's POST
    would become a GET. A missing slash there answers the API's JSON 404 instead."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        if request.path_info.startswith("/api/"):
            return False
        return super().should_redirect_with_slash(request)


class PageBodyLimitMiddleware:
    """Pages take bodies up to PAGE_DATA_UPLOAD_MAX_MEMORY_SIZE; only the API takes up to
    DATA_UPLOAD_MAX_MEMORY_SIZE, which its bulk requests need. The API reads a body only
    after the key is checked; a page's form may be posted by anyone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # as Django reads it: no body
            if length > settings.PAGE_DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise RequestDataTooBig(
                    "Request body exceeded settings.PAGE_DATA_UPLOAD_MAX_MEMORY_SIZE."
                )
        return self.get_response(request)


class ApiNoStoreMiddleware:
    """Every answer under /api/v1/ is a seller's own data or about their request: no cache,
    shared or the client's, keeps it (the schema says so of every answer)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith("/api/v1/"):
            response["Cache-Control"] = "no-store"
        return response
