from django import forms
from django.contrib.auth.forms import AuthenticationForm

from sellers.models import ApiKey


class SellerLoginForm(AuthenticationForm):
    """The Seller Center login: only users who work for a shop get in."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_a_seller": (
            "This account does not belong to a shop. Staff sign in to the admin instead."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.seller_id is None:
            raise forms.ValidationError(self.error_messages["not_a_seller"], code="not_a_seller")


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        help_text="What will use the key, such as “ERP” or “Fulfilment app”.",
    )
