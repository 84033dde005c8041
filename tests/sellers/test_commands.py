import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.urls import reverse
from rest_framework.test import APIClient

from sellers.models import ApiKey, PlanChange, Seller, User

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


class TestCreateSeller:
    def test_prints_slug_and_username_as_json_on_its_last_line(self):
        lines = run(
            "create_seller", "--name", "Acme Gadgets", "--username", "acme", "--password", "pw-1"
        )
        assert json.loads(lines[-1]) == {"slug": "acme-gadgets", "username": "acme"}
        seller = Seller.objects.get(slug="acme-gadgets")
        user = authenticate(HttpRequest(), username="acme", password="pw-1")
        assert user is not None and user.seller == seller
        assert PlanChange.objects.get(seller=seller).plan == "monthly"

    def test_plan_and_email(self):
        run(
            "create_seller",
            "--name",
            "Y",
            "--username",
            "y",
            "--password",
            "p",
            "--plan",
            "yearly",
            "--email",
            "y@example.com",
        )
        assert PlanChange.objects.get(seller__slug="y").plan == "yearly"
        assert User.objects.get(username="y").email == "y@example.com"

    def test_slugs_stay_unique(self):
        run("create_seller", "--name", "Acme", "--username", "a1", "--password", "p")
        lines = run("create_seller", "--name", "Acme", "--username", "a2", "--password", "p")
        assert json.loads(lines[-1])["slug"] == "acme-2"

    def test_a_taken_username_creates_nothing(self):
        run("create_seller", "--name", "First", "--username", "taken", "--password", "p")
        with pytest.raises(CommandError, match="taken"):
            run("create_seller", "--name", "Second", "--username", "taken", "--password", "p")
        assert not Seller.objects.filter(name="Second").exists()

    def test_an_unknown_plan_is_refused(self):
        with pytest.raises(CommandError):
            run(
                "create_seller",
                "--name",
                "X",
                "--username",
                "x",
                "--password",
                "p",
                "--plan",
                "weekly",
            )
        assert not Seller.objects.exists()


class TestCreateApiKey:
    def test_prints_a_working_key_alone_on_its_last_line(self, seller):
        lines = run("create_api_key", seller.slug, "--name", "ERP")
        raw_key = lines[-1]
        assert " " not in raw_key
        assert ApiKey.objects.get(seller=seller).name == "ERP"
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        assert client.get(reverse("api:me")).json()["slug"] == seller.slug

    def test_an_unknown_seller_is_refused(self):
        with pytest.raises(CommandError, match="No seller"):
            run("create_api_key", "nobody")
        assert not ApiKey.objects.exists()


class TestSeedDemo:
    def test_creates_the_demo_logins_and_is_safe_to_run_twice(self, client):
        first = "\n".join(run("seed_demo"))
        second = "\n".join(run("seed_demo"))
        assert "login: demo / demo" in first and "login: admin / admin" in first
        assert "password unchanged" in second
        assert Seller.objects.filter(slug="demo-shop").count() == 1
        assert User.objects.filter(username__in=["demo", "admin"]).count() == 2
        assert PlanChange.objects.filter(seller__slug="demo-shop").count() == 1

        demo = Seller.objects.get(slug="demo-shop")
        assert demo.account_manager.username == "admin"
        assert client.login(request=HttpRequest(), username="demo", password="demo")
        assert "Demo Shop" in client.get(reverse("seller:home")).content.decode()
        client.logout()
        assert client.login(request=HttpRequest(), username="admin", password="admin")
        assert client.get(reverse("admin:index")).status_code == 200
