from collections.abc import Callable

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
