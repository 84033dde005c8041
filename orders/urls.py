from django.urls import path

from orders import api, views

seller_center_urlpatterns = [
    path("orders/", views.order_list, name="orders"),
    path("orders/<path:external_id>/", views.order_detail, name="order"),
]

# External ids may hold a slash: the events route comes before the order's own. The ids these
# routes could not give back (ending in /events, "bulk", "." or ".." segments) are refused at
# creation (orders.services.external_id_errors), so every order is read at its URL.
api_urlpatterns = [
    path("orders/", api.OrderListCreate.as_view(), name="order-list"),
    path("orders/bulk/", api.OrderBulk.as_view(), name="order-bulk"),
    path("orders/<path:external_id>/events/", api.OrderEvents.as_view(), name="order-events"),
    path("orders/<path:external_id>/", api.OrderDetail.as_view(), name="order-detail"),
]
