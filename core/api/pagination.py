"""Cursor pagination, strict: a page size from 1 to 500, and a cursor the API gave or 404."""

from base64 import b64decode
from urllib import parse

from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Every list: {"results", "next", "previous"}, newest first, stable under inserts."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-pk"

    def get_page_size(self, request) -> int:
        # DRF's ignores a page_size it cannot use and caps one too large; the schema says
        # what is allowed, and anything else is refused rather than quietly replaced.
        given = request.query_params.get(self.page_size_query_param)
        if given is None:
            return self.page_size
        try:
            size = int(given) if given.isascii() and given.isdigit() else 0
        except ValueError:  # more digits than int() takes from a string
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results a page: {self.page_size} unless given."
                parameter["schema"] |= {"minimum": 1, "maximum": self.max_page_size}
        return parameters

    def decode_cursor(self, request):
        # DRF decodes base64 leniently, skipping what is not base64: "!!!!" would be the
        # first page. Only what our cursors are decodes; anything else is a 404, and a forged
        # cursor is one too, not a query with a string where a number goes.
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
        except ValueError as exc:  # binascii.Error and the Unicode errors are ValueErrors
            raise exceptions.NotFound(self.invalid_cursor_message) from exc
        if (
            not tokens
            or not tokens.keys() <= {"o", "r", "p"}
            or any(len(values) != 1 for values in tokens.values())
        ):
            raise exceptions.NotFound(self.invalid_cursor_message)
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                self.parse_position(cursor.position)
            except (TypeError, ValueError) as exc:
                raise exceptions.NotFound(self.invalid_cursor_message) from exc
        return cursor

    def parse_position(self, position: str):
        """The ordering field's value a cursor holds; raises ValueError if it is not one."""
        return int(position)
