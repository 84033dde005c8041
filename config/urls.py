from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cashback import urls as cashback_urls
from config import views
from fees import urls as fees_urls
from orders import urls as orders_urls
from sellers import urls as sellers_urls
from wallet import urls as wallet_urls

APPS = (sellers_urls, orders_urls, fees_urls, cashback_urls, wallet_urls)

# Each app names its own pages; they share the "seller" and "api" namespaces.
seller_center = [p for app in APPS for p in app.seller_center_urlpatterns]
api_v1 = [p for app in APPS for p in app.api_urlpatterns]

admin.site.site_header = "Cashback Center admin"
admin.site.site_title = "Cashback Center admin"
admin.site.index_title = "Programs, sellers and money"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="seller:home"), name="root"),
    path("healthz", views.healthz, name="healthz"),
    path("seller/", include((seller_center, "seller"))),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's start script is served as a file; its page keeps one inline style.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
