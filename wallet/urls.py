from django.urls import path

from wallet import api

seller_center_urlpatterns: list = []

api_urlpatterns = [
    path("wallet/", api.WalletView.as_view(), name="wallet"),
    path("wallet/entries/", api.WalletEntries.as_view(), name="wallet-entries"),
]
