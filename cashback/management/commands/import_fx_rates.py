from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cashback.order_cashback import FxImportError, import_fx_rates


class Command(BaseCommand):
    help = "Import FX rates from a CSV file with the header date,currency,rate_to_usd."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE.csv")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            count = import_fx_rates(path)
        except (FxImportError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: {exc} Nothing of the file was stored.") from exc
        self.stdout.write(f"Imported {count} FX rates.")
