from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "fees"
    verbose_name = "Service fees"

    def ready(self) -> None:
        from fees import selectors, services
        from orders import sections, steps

        steps.subscribe("delivered", services.charge_delivered_orders)
        steps.subscribe("refunded", services.refund_returned_orders)
        sections.provide("service_fee", selectors.fee_sections)
