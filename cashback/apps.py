from django.apps import AppConfig


class CashbackConfig(AppConfig):
    name = "cashback"
    verbose_name = "Cashback programs"
