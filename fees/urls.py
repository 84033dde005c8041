from django.urls import path

from fees import api, views

seller_center_urlpatterns = [
    path("finance/settled-records/", views.settled_record_list, name="settled-records"),
    path(
        "finance/settled-records/<int:pk>/",
        views.settled_record_detail,
        name="settled-record",
    ),
    path(
        "finance/settled-records/<int:pk>/csv/",
        views.settled_record_csv,
        name="settled-record-csv",
    ),
]

api_urlpatterns = [
    path("settlements/", api.SettlementList.as_view(), name="settlement-list"),
    path("settlements/<int:pk>/", api.SettlementDetail.as_view(), name="settlement-detail"),
]
