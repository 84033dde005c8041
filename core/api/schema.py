"""Postprocessing hooks of the OpenAPI schema."""


def currencies_are_codes(result: dict, generator, request, public) -> dict:
    """Every currency, in and out, is an ISO 4217 code: three capital letters."""

    def walk(node) -> None:
        if isinstance(node, dict):
            currency = node.get("properties", {}).get("currency")
            if isinstance(currency, dict) and currency.get("type") == "string":
                currency["pattern"] = "^[A-Z]{3}$"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result


NO_STORE = {
    "schema": {"type": "string", "enum": ["no-store"]},
    "required": True,
    "description": "Answers of the API are never stored by a cache.",
}


def api_answers_are_not_stored(result: dict, generator, request, public) -> dict:
    """What config.middleware.ApiNoStoreMiddleware adds to every answer under /api/v1/."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})["Cache-Control"] = dict(NO_STORE)
    return result
