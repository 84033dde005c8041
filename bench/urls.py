"""The project's URLs plus the benchmark's baselines: views that do nothing worth timing."""

from django.http import HttpResponse, JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def trivial(request):
    return HttpResponse("ok")


def plain_json(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/trivial/", trivial),
    path("bench/json/", plain_json),
    *project_urlpatterns,
]
