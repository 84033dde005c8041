from django.urls import path

from cashback import views

seller_center_urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("order-cashback/", views.dashboard, name="order-cashback"),
]

api_urlpatterns: list = []
