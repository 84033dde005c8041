"""A view built on the seller-scoped base, to prove the base itself scopes."""

from django.urls import path
from rest_framework import serializers

from config.urls import urlpatterns as project_urlpatterns
from sellers.api import SellerScopedListAPIView, SellerScopedRetrieveAPIView
from sellers.models import ApiKey


class KeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name"]


class KeyList(SellerScopedListAPIView):
    queryset = ApiKey.objects.all()
    serializer_class = KeySerializer


class KeyListByHook(SellerScopedListAPIView):
    serializer_class = KeySerializer

    def get_base_queryset(self):
        return ApiKey.objects.filter(name__startswith="k")


class KeyDetail(SellerScopedRetrieveAPIView):
    queryset = ApiKey.objects.all()
    serializer_class = KeySerializer


urlpatterns = [
    path("probe/keys/", KeyList.as_view()),
    path("probe/keys-by-hook/", KeyListByHook.as_view()),
    path("probe/keys/<int:pk>/", KeyDetail.as_view()),
    *project_urlpatterns,
]
