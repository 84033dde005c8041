import json
import re
from io import StringIO

import jsonschema
import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.exceptions import ValidationError

from orders.api import EventInputSerializer, OrderInputSerializer


@pytest.mark.django_db
def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=StringIO()
    )
    schema = yaml.safe_load(target.read_text())
    assert "/api/v1/me/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # The docs page's assets are served by the app, not from a CDN.
    assert "/static/drf_spectacular_sidecar/" in docs.content.decode()


# The schema says what the API takes and answers, no more and no less -----------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_list_says_which_page_sizes_it_takes_and_documents_the_400(schema):
    lists = 0
    for label, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "page_size":
                lists += 1
                assert parameter["schema"] | {"minimum": 1, "maximum": 500} == parameter["schema"]
                assert "400" in operation["responses"], label
                assert "404" in operation["responses"], label  # a forged cursor
    assert lists == 6


def test_every_input_refuses_the_fields_it_does_not_know(schema):
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for _, operation in operations(schema)
        if "requestBody" in operation
    ]
    assert len(bodies) == 4
    inputs = [name for name in schema["components"]["schemas"] if name.endswith("Request")]
    assert {ref.rsplit("/", 1)[1] for ref in bodies} <= set(inputs)
    for name in inputs:
        assert schema["components"]["schemas"][name]["additionalProperties"] is False, name


def validator(schema: dict, name: str) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": schema["components"]}
    )


def test_the_400_schema_holds_every_shape_of_bad_input(schema):
    bad_input = validator(schema, "BadInput")
    nested = OrderInputSerializer(data={"items": [{"sku": "S"}], "colour": "red"})
    assert not nested.is_valid()
    for body in (
        json.loads(json.dumps(nested.errors)),  # {"items": {"0": {"quantity": [...]}}, ...}
        {"items": [{}, {"sku": ["Too long."]}]},
        {"items": {"non_field_errors": ["Expected a list of items."]}},
        {"page_size": ["A whole number from 1 to 500."]},
        {"detail": "JSON parse error - Expecting value: line 1 column 1 (char 0)"},
    ):
        assert bad_input.is_valid(body), body
    for body in ({"field": "not a list"}, {"detail": 1}, {"field": [1]}, []):
        assert not bad_input.is_valid(body), body
    field_errors = schema["components"]["schemas"]["BulkResult"]["properties"]["errors"]
    assert field_errors["nullable"] is True
    assert field_errors["allOf"] == [{"$ref": "#/components/schemas/FieldErrors"}]


@pytest.mark.parametrize(
    "text",
    [
        *("0", "5", "52.5", "52.50", "123456789012.34", "1234567890123", "1.001", "-1.00"),
        *("-0", " 5", "5 ", "5.", ".5", "1e2", "1_000", "+5", "\u0665", "", "0x10", "NaN", "5\n"),
        *("9999999999.99", "10000000000", "0000000001.00", "00000000001", "99999999999.99"),
    ],
)
def test_an_amount_is_taken_exactly_when_it_matches_the_schemas_pattern(schema, text):
    pattern = schema["components"]["schemas"]["EventInputRequest"]["properties"]["amount"]
    try:
        EventInputSerializer().fields["amount"].run_validation(text)
        taken = True
    except ValidationError:
        taken = False
    # Anchored with ^ and $, the pattern matches in ECMA as fullmatch does in Python.
    assert taken is (re.fullmatch(pattern["pattern"], text) is not None)


def test_updated_since_is_a_date_time(schema):
    (since,) = [
        p
        for p in schema["paths"]["/api/v1/orders/"]["get"]["parameters"]
        if p["name"] == "updated_since"
    ]
    assert since["schema"] == {"type": "string", "format": "date-time"}


# Precision: the schema says exactly what the code takes and answers --------------------------


def test_registering_takes_agree_to_terms_true_only(schema):
    agree = schema["components"]["schemas"]["RegisterRequest"]["properties"]["agree_to_terms"]
    (ref,) = agree["allOf"]
    enum = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
    assert enum == {"type": "boolean", "enum": [True]} | enum
    assert enum["enum"] == [True]
    assert validator(schema, "RegisterRequest").is_valid({"agree_to_terms": True})
    assert not validator(schema, "RegisterRequest").is_valid({"agree_to_terms": False})
    assert "agree_to_terms" in schema["components"]["schemas"]["RegisterRequest"]["required"]


def test_every_currency_is_three_capital_letters(schema):
    currencies = []

    def walk(node, where: str):
        if isinstance(node, dict):
            for name, value in node.get("properties", {}).items():
                if name == "currency":
                    currencies.append(where)
                    assert value.get("pattern") == "^[A-Z]{3}$", (where, value)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "#")
    # The order (in and out) and its fee, the settled records, the wallet.
    assert len(currencies) >= 6, currencies


def test_every_api_answer_says_it_is_not_to_be_stored(schema):
    answers = 0
    for label, operation in operations(schema):
        if not label.split()[1].startswith("/api/v1/"):
            continue
        for code, response in operation["responses"].items():
            header = response.get("headers", {}).get("Cache-Control")
            assert header == {
                "schema": {"type": "string", "enum": ["no-store"]},
                "required": True,
                "description": "Answers of the API are never stored by a cache.",
            }, (label, code)
            answers += 1
    assert answers > 60


def test_every_body_may_be_refused_as_too_large(schema):
    posts = [(label, op) for label, op in operations(schema) if "requestBody" in op]
    assert posts
    for label, operation in posts:
        assert "413" in operation["responses"], label
