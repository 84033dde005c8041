from django.urls import path

from cashback import api, views

seller_center_urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="campaign"),
    path("campaigns/<slug:slug>/register/", views.campaign_register, name="campaign-register"),
    path(
        "registrations/<int:pk>/withdraw/",
        views.registration_withdraw,
        name="registration-withdraw",
    ),
    path(
        "registrations/<int:pk>/cancel-withdraw/",
        views.registration_cancel_withdraw,
        name="registration-cancel-withdraw",
    ),
    path("order-cashback/", views.dashboard, name="order-cashback"),
    path("order-cashback/months/<str:month>/", views.cashback_month, name="order-cashback-month"),
]

api_urlpatterns = [
    path("cashback/summary/", api.CashbackSummary.as_view(), name="cashback-summary"),
    path("cashback/months/", api.CashbackMonths.as_view(), name="cashback-months"),
    path(
        "cashback/months/<str:month>/",
        api.CashbackMonthDetail.as_view(),
        name="cashback-month",
    ),
    path("campaigns/", api.CampaignList.as_view(), name="campaign-list"),
    path("campaigns/<slug:slug>/", api.CampaignDetail.as_view(), name="campaign-detail"),
    path(
        "campaigns/<slug:slug>/registrations/",
        api.CampaignRegister.as_view(),
        name="campaign-register",
    ),
    path("registrations/", api.RegistrationList.as_view(), name="registration-list"),
    path("registrations/<int:pk>/", api.RegistrationDetail.as_view(), name="registration-detail"),
    path(
        "registrations/<int:pk>/withdraw/",
        api.RegistrationWithdraw.as_view(),
        name="registration-withdraw",
    ),
    path(
        "registrations/<int:pk>/cancel-withdraw/",
        api.RegistrationCancelWithdraw.as_view(),
        name="registration-cancel-withdraw",
    ),
]
