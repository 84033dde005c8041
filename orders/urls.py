from django.urls import path

from orders import views

seller_center_urlpatterns = [
    path("orders/", views.order_list, name="orders"),
]

api_urlpatterns: list = []
