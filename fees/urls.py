from django.urls import path

from fees import views

seller_center_urlpatterns = [
    path("finance/settled-records/", views.settled_record_list, name="settled-records"),
]

api_urlpatterns: list = []
