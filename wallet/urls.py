seller_center_urlpatterns: list = []

api_urlpatterns: list = []
