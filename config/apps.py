from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """Wiring of the apps: the health check and the commands that span them."""

    name = "config"
    verbose_name = "Cashback Center"
