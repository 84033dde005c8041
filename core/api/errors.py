"""The API's errors: the exceptions the views raise, the one handler that answers them, and
the shapes the schema gives them."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, views
from rest_framework.response import Response


class Conflict(exceptions.APIException):
    """The request is well formed but the state of the object does not allow it."""

    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request is too large."
    default_code = "payload_too_large"


def body_too_large() -> PayloadTooLarge:
    mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return PayloadTooLarge(
        f"The request body is larger than {mib:g} MiB, the most the API takes: send fewer "
        "orders a request."
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's. A body above the size limit, which Django finds when a view reads it, is a
    413 like the API's other errors rather than Django's 400 page."""
    if isinstance(exc, RequestDataTooBig):
        exc = body_too_large()
    return views.exception_handler(exc, context)


class ErrorSerializer(serializers.Serializer):
    """401, 403, 404, 409 and 413 answers: {"detail": "message"}."""

    detail = serializers.CharField()


# What a 400 holds: DRF's messages by field; a nested field (an order's items) holds the
# errors of its own fields, or a list of them (one for each item); a body that is not JSON
# is {"detail": "..."}.
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages by field; a nested field holds its own field errors, or a list "
    "of them (one for each item of a list).",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"$ref": "#/components/schemas/FieldErrors"}},
            {"$ref": "#/components/schemas/FieldErrors"},
        ]
    },
    "example": {"field": ["What is wrong with it."]},
}


@extend_schema_field(FIELD_ERRORS, component_name="FieldErrors")
class FieldErrorsField(serializers.JSONField):
    """DRF's errors of an input, as its serializer's `errors` gives them."""


class BadInputSerializer(serializers.Serializer):
    """A 400 answer, for the schema only: DRF writes it (see _BadInputSchema)."""


class _BadInputSchema(OpenApiSerializerExtension):
    target_class = BadInputSerializer

    def map_serializer(self, auto_schema, direction):
        return {
            "anyOf": [
                auto_schema._map_serializer_field(FieldErrorsField(), direction),
                {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                    "additionalProperties": False,
                },
            ],
            "example": {"field": ["What is wrong with it."]},
        }


VALIDATION_ERROR = OpenApiResponse(
    response=BadInputSerializer,
    description=(
        "Bad input: a list of messages for each field (non_field_errors for the whole), "
        "nested for nested fields; or a detail, for a body that is not JSON."
    ),
)


# Schema hooks (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) ---------------------------------
