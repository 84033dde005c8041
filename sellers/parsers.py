"""The API's JSON parser. Its own module: DRF reads it from settings while loading."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's, answering 400 for JSON nested deeper than Python reads, where DRF's lets the
    RecursionError through."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc
