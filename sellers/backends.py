"""Django's password login, with what every Seller Center page needs of its user."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ModelBackendWithShop(ModelBackend):
    """The user of a session comes with their shop and its account manager in the same
    query: every Seller Center page reads them, and a query less is half a millisecond."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("seller__account_manager").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
