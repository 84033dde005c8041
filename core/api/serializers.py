"""Strict input: serializers that refuse unknown fields and read only what they declare, their
fields (amounts as strings, times with offsets), and the compiled fast lane that checks a
batch's items as the fields would."""

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, DecimalException

from django.conf import settings
from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import get_doc
from rest_framework import serializers
from rest_framework import validators as drf_validators
from rest_framework.fields import empty
from rest_framework.settings import ISO_8601, api_settings


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, instead of ignoring them,
    nested ones included."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            unknown = {
                str(name)[:100]: ["This field is not known."]
                for name in sorted(set(map(str, data)) - set(self.fields))
            }
            # Valid JSON, but not text: neither the database nor an answer could hold it.
            unknown.update(
                {
                    name: ["This text holds an unpaired surrogate, which is not valid Unicode."]
                    for name, value in data.items()
                    if name in self.fields and isinstance(value, str) and not _is_text(value)
                }
            )
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    @classmethod
    def parse(cls, data) -> dict:
        """The validated data, or the serializer's ValidationError: `is_valid(raise_exception=
        True)` in the fast lane (see `parse_many`)."""
        ((value, errors),) = cls.parse_many([data])
        if errors is not None:
            raise serializers.ValidationError(errors)
        return value

    @classmethod
    def parse_many(cls, items: list) -> list[tuple[dict | None, dict | None]]:
        """(validated_data, None) or (None, errors) for each item: exactly what
        `cls(data=item).is_valid()` gives, in a fraction of its time.

        The fields declared on the serializer stay the only statement of the rules: a fast
        lane compiled from them (`_FastLane`) accepts the plain, valid inputs, and anything
        it is not sure of goes through DRF, so every error message is DRF's own.
        """
        lane = _fast_lane(cls)
        batch = _Batch()
        results = []
        for item in items:
            value = lane.run(item, batch)
            if value is _UNSURE:
                incoming = cls(data=item)
                if incoming.is_valid():
                    results.append((incoming.validated_data, None))
                else:
                    results.append((None, incoming.errors))
            else:
                results.append((value, None))
        return results


class _StrictSerializerSchema(OpenApiSerializerExtension):
    """A StrictSerializer's schema says that it refuses the fields it does not know."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if schema.get("description") == get_doc(StrictSerializer):
            del schema["description"]  # this class's, not one for integrators
        return {**schema, "additionalProperties": False}


class OffsetDateTimeField(serializers.DateTimeField):
    """An instant in ISO 8601 with its offset ("2026-11-01T10:00:00Z"); a time without an
    offset is ambiguous and refused."""

    default_error_messages = {
        "naive": "Give the time with its offset, such as 2026-11-01T10:00:00Z.",
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # well formed but impossible: February 30th, +25:00
                self.fail("invalid", format="ISO 8601 with an offset")
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class AmountField(serializers.DecimalField):
    """Money: at most 2 decimals, 0 or more, written as a string with 2 decimals.

    It takes an amount only as the string its schema's pattern describes ("52.50", "120"):
    not a JSON number (a float on the way in), nor the other strings a DecimalField takes
    (" 5 ", "1e2", "1_000", "+5", "5.").
    """

    default_error_messages = {
        "written": "Give the amount as a string of digits with at most {places} decimals, "
        'such as "52.50".',
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        if kwargs.get("max_value") is not None:
            # One message for an amount too large, whether DRF finds it by its digits or by
            # its value.
            above = f"An amount is at most {kwargs['max_value']}."
            kwargs["error_messages"] = {
                **dict.fromkeys(("max_value", "max_digits", "max_whole_digits"), above),
                **kwargs.get("error_messages", {}),
            }
        super().__init__(**kwargs)
        sign = "" if self.min_value is not None and self.min_value >= 0 else "-?"
        # ECMA and Python alike ([0-9], not \d, which is any Unicode digit in Python)
        self.pattern = (
            f"^{sign}[0-9]{{1,{self.max_whole_digits}}}(?:\\.[0-9]{{1,{self.decimal_places}}})?$"
        )
        self.written = re.compile(self.pattern)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("written", places=self.decimal_places)
        value = super().to_internal_value(data)  # DRF's messages for what it refuses
        if not self.written.fullmatch(data):
            self.fail("written", places=self.decimal_places)
        return value


class _AmountFieldSchema(OpenApiSerializerFieldExtension):
    """An AmountField takes what its pattern matches; the amounts it writes out keep
    drf-spectacular's description of a decimal."""

    target_class = AmountField

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["pattern"] = self.target.pattern
            if self.target.max_value is not None:
                schema["maximum"] = float(self.target.max_value)
        return schema


class _ListSchema(OpenApiSerializerFieldExtension):
    """A list of nested inputs says how many it takes."""

    target_class = serializers.ListSerializer
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if self.target.max_length is not None:
            schema["maxItems"] = self.target.max_length
        if self.target.min_length is not None:
            schema["minItems"] = self.target.min_length
        return schema


# The fast lane of StrictSerializer ---------------------------------------------------------
#
# Each field compiles to a check `(value, batch) -> validated value or _UNSURE`. A check
# accepts only what the DRF field would accept, and turns it into the very value DRF would;
# for anything else (a bad value, but also a number given as a string, a boolean given as
# "true"...) it answers _UNSURE and the item is validated by DRF. A field type or option it
# does not know always answers _UNSURE: slower, never wrong.

_UNSURE = object()
_OMIT = object()
Check = Callable[[object, "_Batch"], object]


class _Batch:
    """What the checks of one request share: the time zone and the times parsed so far."""

    __slots__ = ("times", "tz")

    def __init__(self):
        self.tz = timezone.get_current_timezone() if settings.USE_TZ else None
        self.times: dict[str, datetime] = {}


def _unsure(value, batch) -> object:
    return _UNSURE


def _predicate(field: serializers.Field) -> Callable[[object], bool] | None:
    """One test for all the field's validators, True when they all pass; None when the
    field has none."""
    tests: list[Callable[[object], bool]] = []
    for validator in field.validators:
        kind = type(validator)
        limit = getattr(validator, "limit_value", None)
        if kind is django_validators.MaxLengthValidator and not callable(limit):
            tests.append(lambda v, n=limit: len(v) <= n)
        elif kind is django_validators.MinLengthValidator and not callable(limit):
            tests.append(lambda v, n=limit: len(v) >= n)
        elif kind is django_validators.MaxValueValidator and not callable(limit):
            tests.append(lambda v, n=limit: v <= n)
        elif kind is django_validators.MinValueValidator and not callable(limit):
            tests.append(lambda v, n=limit: v >= n)
        elif kind is django_validators.ProhibitNullCharactersValidator:
            tests.append(lambda v: "\x00" not in v)
        elif kind is drf_validators.ProhibitSurrogateCharactersValidator:
            tests.append(lambda v: v.isascii() or _is_text(v))
        elif kind is django_validators.RegexValidator:
            tests.append(lambda v, r=validator: bool(r.regex.search(v)) is not r.inverse_match)
        else:  # one the lane does not know: the field runs them all
            return lambda v: _passes(field, v)
    if not tests:
        return None
    if len(tests) == 1:
        return tests[0]

    def all_pass(value) -> bool:
        for test in tests:  # noqa: SIM110 - a loop, as all() over a generator is slower
            if not test(value):
                return False
        return True

    return all_pass


def _passes(field: serializers.Field, value) -> bool:
    try:
        field.run_validators(value)
    except Exception:
        return False
    return True


def _char_check(field: serializers.CharField) -> Check:
    trim, allow_blank, test = field.trim_whitespace, field.allow_blank, _predicate(field)

    def check(value, batch):
        if type(value) is not str:
            return _UNSURE
        if trim:
            value = value.strip()
        if not value:
            return "" if allow_blank else _UNSURE
        if test is not None and not test(value):
            return _UNSURE
        return value

    return check


def _integer_check(field: serializers.IntegerField) -> Check:
    test = _predicate(field)

    def check(value, batch):
        # Booleans are not ints here (type, not isinstance); huge ones are left to DRF.
        if type(value) is not int or not -(10**18) < value < 10**18:
            return _UNSURE
        if test is not None and not test(value):
            return _UNSURE
        return value

    return check


def _boolean_check(field: serializers.BooleanField) -> Check:
    def check(value, batch):
        return value if value is True or value is False else _UNSURE

    return check


def _choice_check(field: serializers.ChoiceField) -> Check:
    choices, allow_blank = field.choice_strings_to_values, field.allow_blank
    test = _predicate(field)

    def check(value, batch):
        if type(value) is not str:
            return _UNSURE
        if value == "" and allow_blank:
            return ""
        value = choices.get(value, _UNSURE)
        if value is not _UNSURE and test is not None and not test(value):
            return _UNSURE
        return value

    return check


def _decimal_check(field: serializers.DecimalField) -> Check:
    if field.localize or field.decimal_places is None or field.max_digits is None:
        return _unsure
    places, max_digits, max_whole = field.decimal_places, field.max_digits, field.max_whole_digits
    longest, test = field.MAX_STRING_LENGTH, _predicate(field)
    written = field.written if isinstance(field, AmountField) else None

    def check(value, batch):
        if type(value) is not str:
            return _UNSURE
        if written is not None and not written.fullmatch(value):
            return _UNSURE
        value = value.strip()
        if len(value) > longest:
            return _UNSURE
        try:
            number = Decimal(value)
        except (DecimalException, ValueError):
            return _UNSURE
        if not number.is_finite():
            return _UNSURE
        # DRF's validate_precision, then its quantize where the exponent is not already right.
        _, digits, exponent = number.as_tuple()
        if exponent >= 0:
            total = whole = len(digits) + exponent
            decimals = 0
        elif len(digits) > -exponent:
            total, whole, decimals = len(digits), len(digits) + exponent, -exponent
        else:
            total = decimals = -exponent
            whole = 0
        if total > max_digits or decimals > places or whole > max_whole:
            return _UNSURE
        if exponent != -places:
            number = field.quantize(number)
        if test is not None and not test(number):
            return _UNSURE
        return number

    return check


def _datetime_check(field: serializers.DateTimeField) -> Check:
    """OffsetDateTimeField: an ISO 8601 time with its offset, in the current time zone."""
    formats = getattr(field, "input_formats", api_settings.DATETIME_INPUT_FORMATS)
    if [f.lower() for f in formats] != [ISO_8601] or hasattr(field, "timezone"):
        return _unsure
    test = _predicate(field)

    def check(value, batch):
        if type(value) is not str:
            return _UNSURE
        known = batch.times.get(value)
        if known is None:
            if batch.tz is None:
                return _UNSURE
            try:  # what Django's parse_datetime tries first; no offset is DRF's to refuse
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    return _UNSURE
                known = batch.times[value] = parsed.astimezone(batch.tz)
            except (ValueError, OverflowError):
                return _UNSURE
        if test is not None and not test(known):
            return _UNSURE
        return known

    return check


def _list_check(field: serializers.ListSerializer) -> Check:
    overridden = type(field).validate is not serializers.ListSerializer.validate
    if not isinstance(field.child, StrictSerializer) or overridden or field.validators:
        return _unsure
    lane = _FastLane(field.child)
    allow_empty, longest, shortest = field.allow_empty, field.max_length, field.min_length

    def check(value, batch):
        if type(value) is not list:
            return _UNSURE
        if (
            (not value and not allow_empty)
            or (longest is not None and len(value) > longest)
            or (shortest is not None and len(value) < shortest)
        ):
            return _UNSURE
        validated = []
        for item in value:
            item = lane.run(item, batch)
            if item is _UNSURE:
                return _UNSURE
            validated.append(item)
        return validated

    return check


def _nested_check(field: "StrictSerializer") -> Check:
    lane = _FastLane(field)
    return lambda value, batch: lane.run(value, batch)


def _field_check(field: serializers.Field) -> Check:
    """The compiled check of one field; exact types only, so a subclass with rules of its
    own (an EmailField is a CharField) is never taken for its parent."""
    kind = type(field)
    if kind in (serializers.CharField, serializers.SlugField):
        return _char_check(field)
    if kind is serializers.IntegerField:
        return _integer_check(field)
    if kind is serializers.BooleanField:
        return _boolean_check(field)
    if kind is serializers.ChoiceField:
        return _choice_check(field)
    if kind is AmountField or kind is serializers.DecimalField:
        return _decimal_check(field)
    if kind is OffsetDateTimeField:
        return _datetime_check(field)
    if kind is serializers.ListSerializer:
        return _list_check(field)
    if isinstance(field, StrictSerializer) and not getattr(field, "many", False):
        return _nested_check(field)
    return _unsure


class _FastLane:
    """A StrictSerializer compiled: `run(data, batch)` is its validated data, or _UNSURE."""

    def __init__(self, serializer: "StrictSerializer"):
        fields = serializer.fields
        self.names = frozenset(fields)
        self.plan = []
        self.always_unsure = bool(serializer.validators)
        for name, field in fields.items():
            if field.read_only or field.source != name or hasattr(serializer, f"validate_{name}"):
                self.always_unsure = True
            check = _field_check(field)
            if field.allow_null:
                check = _nullable(check)
            if field.default is not empty and callable(field.default):
                self.always_unsure = True
            # When it is left out: refused (required), its default, or left out.
            missing = _UNSURE if field.required else field.default
            self.plan.append((name, check, _OMIT if missing is empty else missing))
        overridden = type(serializer).validate is not serializers.Serializer.validate
        self.validate = serializer.validate if overridden else None

    def run(self, data, batch: _Batch):
        if type(data) is not dict or self.always_unsure or not self.names.issuperset(data):
            return _UNSURE
        validated = {}
        for name, check, missing in self.plan:
            value = data.get(name, empty)
            if value is empty:
                if missing is _UNSURE:
                    return _UNSURE
                if missing is not _OMIT:
                    validated[name] = missing
                continue
            value = check(value, batch)
            if value is _UNSURE:
                return _UNSURE
            validated[name] = value
        if self.validate is not None:
            try:
                validated = self.validate(validated)
            except (serializers.ValidationError, DjangoValidationError):
                return _UNSURE
        return validated


def _nullable(check: Check) -> Check:
    return lambda value, batch: None if value is None else check(value, batch)


_lanes: dict[type, _FastLane] = {}


def _fast_lane(serializer_class: type["StrictSerializer"]) -> _FastLane:
    lane = _lanes.get(serializer_class)
    if lane is None:
        lane = _lanes[serializer_class] = _FastLane(serializer_class())
    return lane
