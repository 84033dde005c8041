"""Seller Center pages of the sellers app: sign-in, home and API keys."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sellers.decorators import seller_required
from sellers.forms import ApiKeyCreateForm, SellerLoginForm
from sellers.selectors import api_key_get_for_seller, api_key_list, seller_plan_at
from sellers.services import SellerError, api_key_create, api_key_revoke


class LoginView(auth_views.LoginView):
    template_name = "sellers/login.html"
    authentication_form = SellerLoginForm
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        # A `next` back to the login page itself would loop: go home instead.
        url = super().get_redirect_url()
        return "" if url and url.split("?")[0] == self.request.path else url


class LogoutView(auth_views.LogoutView):
    pass


@seller_required
def home(request: HttpRequest) -> HttpResponse:
    plan = seller_plan_at(seller=request.seller, at=timezone.now())
    return render(request, "sellers/home.html", {"plan": plan})


@never_cache
@seller_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST or None)
    created = raw_key = None
    if request.method == "POST" and form.is_valid():
        try:
            created, raw_key = api_key_create(
                seller=request.seller, name=form.cleaned_data["name"], created_by=request.user
            )
        except SellerError as exc:
            form.add_error("name", str(exc))
        else:
            # The plaintext is rendered in this answer only, never stored or redirected.
            form = ApiKeyCreateForm()
    context = {
        "form": form,
        "keys": api_key_list(seller=request.seller),
        "created": created,
        "raw_key": raw_key,
    }
    status = 400 if request.method == "POST" and created is None else 200
    return render(request, "sellers/api_keys.html", context, status=status)


@seller_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    api_key = api_key_get_for_seller(seller=request.seller, key_id=key_id)
    if api_key is None:
        raise Http404("No such API key.")
    if api_key_revoke(api_key=api_key, revoked_by=request.user):
        messages.success(request, f"The key “{api_key.name}” is revoked: it no longer works.")
    else:
        messages.info(request, f"The key “{api_key.name}” was revoked already.")
    return redirect("seller:api-keys")
