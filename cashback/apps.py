from django.apps import AppConfig


class CashbackConfig(AppConfig):
    name = "cashback"
    verbose_name = "Cashback programs"

    def ready(self) -> None:
        from cashback import selectors
        from orders import sections

        sections.provide("cashback", selectors.cashback_sections)
