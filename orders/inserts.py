"""Rows written in bulk: COPY on PostgreSQL, bulk_create elsewhere (and for a few rows).

bulk_create builds a model instance for each row and prepares each of its values in
Python: for a request of 1,000 orders and their 4,000 events that cost more than all the
rest of the request. COPY takes the rows as they are, in PostgreSQL's binary format where
every column's type is known (no text to format, nor for the server to parse). The ids
come from the table's own sequence, taken in one query before the rows are written, so
that rows written next can point at them and the ids keep the order of the rows.

The caller gives plain values by attname (a JSONField's value as the object); constraints
and triggers apply as for any insert, and a violation raises Django's IntegrityError.
"""

import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from functools import cache
from operator import itemgetter

from django.db import connection, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.fields.json import JSONField
from django.utils import timezone
from orjson import OPT_PASSTHROUGH_DATACLASS, OPT_PASSTHROUGH_DATETIME
from orjson import dumps as orjson_dumps
from psycopg.types.json import set_json_dumps

# Fewer rows than this are inserted as bulk_create does: one INSERT, where the ids and a
# COPY would cost three round trips (a single order, an event's fee).
COPY_FROM = 50
# orjson writes times and dataclasses, which json refuses: refused here too.
JSON_AS_JSON_DOES = OPT_PASSTHROUGH_DATETIME | OPT_PASSTHROUGH_DATACLASS
# PostgreSQL's types of the binary COPY, by Django's internal type.
BINARY_TYPES = {
    "AutoField": "int4",
    "BigAutoField": "int8",
    "SmallAutoField": "int2",
    "IntegerField": "int4",
    "BigIntegerField": "int8",
    "SmallIntegerField": "int2",
    "PositiveIntegerField": "int4",
    "PositiveBigIntegerField": "int8",
    "PositiveSmallIntegerField": "int2",
    "CharField": "text",
    "SlugField": "text",
    "TextField": "text",
    "BooleanField": "bool",
    "DecimalField": "numeric",
    "DateTimeField": "timestamptz",
    "JSONField": "jsonb",
}


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: list[tuple], *, ids: bool = True
) -> list[int]:
    """Insert `rows` (values in the order of `columns`, attnames) into the model's table, in
    one go. Returns their ids in the order of the rows (none when `ids` is False)."""
    if not rows:
        return []
    if connection.vendor != "postgresql" or len(rows) < COPY_FROM:
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs)
        return [obj.pk for obj in objs] if ids else []
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    fields = [by_name[name] for name in columns]
    # The columns left out get what the model would give them: the time for auto_now and
    # auto_now_add, else the field's default.
    rest = [f for f in by_name.values() if f.attname not in columns and not f.primary_key]
    if rest:
        now = timezone.now()
        extra = tuple(
            now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in rest
        )
        fields += rest
        rows = [(*row, *extra) for row in rows]
    new_ids = []
    if ids:
        new_ids = _next_ids(model, len(rows))
        fields.insert(0, model._meta.pk)
        rows = [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)]
    _copy(model, fields, rows)
    return new_ids


def insert_objects(objs: list[models.Model]) -> None:
    """Insert new instances of one model in one go, as bulk_create does: the auto_now and
    auto_now_add times and the pks are set on them, and they count as saved."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql" or len(objs) < COPY_FROM:
        model.objects.bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    values_of = itemgetter(*(f.attname for f in fields))
    new_ids = _next_ids(model, len(objs))
    _copy(
        model,
        [model._meta.pk, *fields],
        [(pk, *values_of(obj.__dict__)) for pk, obj in zip(new_ids, objs, strict=True)],
    )
    alias = connection.alias  # the connection proxy costs microseconds a look-up
    pk_name = model._meta.pk.attname
    for obj, pk in zip(objs, new_ids, strict=True):
        setattr(obj, pk_name, pk)
        obj._state.adding = False
        obj._state.db = alias


def _next_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new ids from the sequence of the model's primary key, ascending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array(SELECT nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass) "
            "FROM generate_series(1, %s))",
            [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column, count],
        )
        (found,) = cursor.fetchone()
    return sorted(found)


def _binary_type(field: models.Field) -> str | None:
    if isinstance(field, JSONField) and field.encoder is not None:
        return None  # psycopg would encode it without the field's encoder
    typed = field.target_field if field.is_relation else field
    return BINARY_TYPES.get(typed.get_internal_type())


def _copy(model: type[models.Model], fields: list[models.Field], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    types = [_binary_type(f) for f in fields]
    binary = None not in types
    sql = (
        f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"FROM STDIN{' (FORMAT BINARY)' if binary else ''}"
    )
    if not binary:  # text: JSON as text, the rest as psycopg writes it
        at = [n for n, f in enumerate(fields) if isinstance(f, JSONField)]
        if at:
            rows = [_json_text(row, at, fields) for row in rows]
    connection.validate_no_broken_transaction()
    with connection.cursor() as cursor:
        # Django's cursor logs what it runs when asked to (CaptureQueriesContext, DEBUG):
        # the COPY is one statement like the others.
        debug = getattr(cursor, "debug_sql", None)
        with (
            debug(sql) if debug else nullcontext(),
            connection.wrap_database_errors,
            cursor.cursor.copy(sql) as copy,
        ):
            if binary:
                set_json_dumps(_json_dumps, cursor.cursor)
                copy.set_types(types)
            for row in rows:
                copy.write_row(row)


def _json_dumps(value) -> bytes | str:
    """JSON for a jsonb column, which keeps the value, not the text: orjson writes the
    creation payloads of a batch ten times as fast as json. What it refuses (a key that
    is not text, an integer beyond 64 bits) json writes as before; what json refuses
    (a time, a dataclass) orjson is told to refuse too. The payloads hold text, booleans
    and nulls (amounts and times are text), never a float that orjson would write
    differently."""
    try:
        return orjson_dumps(value, option=JSON_AS_JSON_DOES)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def _json_text(row: tuple, at: list[int], fields: list[models.Field]) -> tuple:
    row = list(row)
    for n in at:
        if row[n] is not None:
            row[n] = json.dumps(row[n], cls=fields[n].encoder)
    return tuple(row)


def builder(model: type[models.Model]) -> Callable[[dict], models.Model]:
    """What makes instances of a model from all their values by attname: `model(**values)`
    without the field-by-field work of Model.__init__ (what unpickling does), five times as
    fast for the thousands of instances of a bulk batch. It is __init__ itself when something
    listens to the model's init signals as it is made (once for a batch)."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return lambda values: model(**values)
    attnames = _attnames(model)

    def build(values: dict) -> models.Model:
        if values.keys() != attnames:
            # A field left out would be read from the database when first used.
            raise ValueError(f"{model.__name__} needs all its fields, not {sorted(values)}.")
        obj = model.__new__(model)
        obj.__dict__.update(values)
        obj._state = ModelState()
        return obj

    return build


@cache
def _attnames(model: type[models.Model]) -> frozenset[str]:
    return frozenset(f.attname for f in model._meta.concrete_fields)
