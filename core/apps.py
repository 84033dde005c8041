from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Jobs"

    def ready(self) -> None:
        from core import dialect  # noqa: F401  (SQLite's exact arithmetic, on each connection)
