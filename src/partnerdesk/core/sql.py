"""Hand-compiled statements for the few hot and bulk paths.

The ORM compiles every statement anew (a third of a request's time on the write path, by
cProfile); these helpers build the SQL of a statement once per process from the model's
own metadata, quote every name, and pass every value as a parameter, adapted by the field
exactly as the ORM would adapt it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import islice
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

BATCH = 20_000


def batched(items: Iterable, size: int = BATCH):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in columns]


def _db():
    """The connection itself: ``django.db.connection`` is a proxy that looks it up again
    on every attribute."""
    return connections[DEFAULT_DB_ALIAS]


def adapt(model: type[models.Model], columns: Sequence[str], values: Sequence[Any]) -> list:
    db = _db()
    return [
        field.get_db_prep_save(value, db)
        for field, value in zip(_fields(model, columns), values, strict=True)
    ]


@cache
def _insert_sql(model: type[models.Model], columns: tuple[str, ...], returning: bool) -> str:
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in _fields(model, columns))
    # Names come from the model's metadata, quoted; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # nosec B608
        quote(model._meta.db_table), names, ", ".join(["%s"] * len(columns))
    )
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql


def insert(model: type[models.Model], values: dict[str, Any]) -> int:
    """One row; returns its primary key (SQLite ≥ 3.35 and PostgreSQL both RETURN)."""
    columns = tuple(values)
    db = _db()
    params = [
        v if field is None else field.get_db_prep_save(v, db)
        for field, v in zip(_preparing_fields(model, columns), values.values(), strict=True)
    ]
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(model, columns, True), params)
        return cursor.fetchone()[0]


@cache
def _preparing_fields(model: type[models.Model], columns: tuple[str, ...]) -> list:
    """Per column, the field that turns a value into its database form, or None where
    the value is its own (see ``_AS_IS``)."""
    return [None if f.get_internal_type() in _AS_IS else f for f in _fields(model, columns)]


def _update_from_values(model, fields, adapters, rows, per_statement: int = 10_000) -> int:
    """PostgreSQL: one ``UPDATE … FROM unnest(arrays)`` per ten thousand rows instead of
    a statement per row: one array parameter a column, so binding costs nothing."""
    db = _db()
    quote = db.ops.quote_name
    names = [quote(f.column) for f in fields]
    *columns, key = names
    arrays = ", ".join(f"%s::{f.db_type(db)}[]" for f in fields)
    table = quote(model._meta.db_table)
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    # Names come from the model's metadata, quoted; every value is a parameter.
    statement = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "  # nosec B608
        f"AS v({', '.join(names)}) WHERE {table}.{key} = v.{key}"
    )
    updated = 0
    with db.cursor() as cursor:
        for part in batched(rows, per_statement):
            by_column = [
                [v if adapt is None else adapt(v) for v in values]
                for adapt, values in zip(adapters, zip(*part, strict=True), strict=True)
            ]
            cursor.execute(statement, by_column)
            updated += cursor.rowcount
    return updated


def insert_instance(instance: models.Model) -> models.Model:
    """``instance.save()`` for a new row, without the ORM's compiler: every concrete field
    as its ``pre_save`` gives it (``auto_now_add`` included), one INSERT … RETURNING.
    No signals are sent: for the hot paths' own rows (requests, audit events)."""
    model = type(instance)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    instance.pk = insert(model, {f.name: f.pre_save(instance, True) for f in fields})
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS
    return instance


# Fields whose database form is the Python value itself, for callers that pass values of
# the right type (``insert_many``'s are built by code, never parsed from input).
_AS_IS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "BooleanField",
        "ForeignKey",
    }
)


def _adapter(field: models.Field, db):
    """A function turning a value into its database form; repeated values (one timestamp
    for a whole batch) are adapted once."""
    if field.get_internal_type() in _AS_IS:
        return None
    seen: dict = {}

    def adapt_value(value):
        try:
            return seen[value]
        except (KeyError, TypeError):
            adapted = field.get_db_prep_save(value, db)
            if len(seen) < 64:
                with contextlib.suppress(TypeError):  # a JSON field's dict: not kept
                    seen[value] = adapted
            return adapted

    return adapt_value


def insert_many(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Many rows straight to the driver: with COPY on PostgreSQL (100,000 rows in about a
    second, a fifth of executemany's time), with executemany in batches elsewhere."""
    db = _db()
    columns = tuple(columns)
    fields = _fields(model, columns)
    adapters = [_adapter(f, db) for f in fields]
    prepared = (
        [v if a is None else a(v) for a, v in zip(adapters, row, strict=True)] for row in rows
    )
    count = 0
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            quote = db.ops.quote_name
            names = ", ".join(quote(f.column) for f in fields)
            # Names come from the model's metadata, quoted; the rows are data.
            copy_sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for row in prepared:
                    copy.write_row(row)
                    count += 1
            return count
        sql = _insert_sql(model, columns, False)
        for chunk in batched(prepared):
            cursor.executemany(sql, chunk)
            count += len(chunk)
    return count


@cache
def _update_sql(model: type[models.Model], columns: tuple[str, ...], guard: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in _fields(model, columns))
    conditions = " AND ".join(
        f"{quote(f.column)} = %s" for f in _fields(model, (model._meta.pk.name, *guard))
    )
    # Names come from the model's metadata, quoted; every value is a parameter.
    table = quote(model._meta.db_table)
    return f"UPDATE {table} SET {assignments} WHERE {conditions}"  # nosec B608


def update_many(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    guard: Sequence[str] = (),
) -> int:
    """``UPDATE … SET columns WHERE pk = ? [AND guard = ?]`` for each row, whose values are
    the columns', then the pk, then the guard's; returns how many rows were updated."""
    columns, guard = tuple(columns), tuple(guard)
    sql = _update_sql(model, columns, guard)
    db = _db()
    fields = _fields(model, (*columns, model._meta.pk.name, *guard))
    adapters = [_adapter(f, db) for f in fields]
    if db.vendor == "postgresql" and not guard:
        return _update_from_values(model, fields, adapters, rows)
    updated = 0
    with db.cursor() as cursor:
        for chunk in batched(rows):
            prepared = [
                [v if a is None else a(v) for a, v in zip(adapters, row, strict=True)]
                for row in chunk
            ]
            if len(prepared) == 1:
                cursor.execute(sql, prepared[0])
            else:
                cursor.executemany(sql, prepared)
            updated += cursor.rowcount
    return updated


RETURNING_ROWS = 100  # rows to one INSERT … RETURNING (SQLite takes 999 parameters)


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
) -> list[int]:
    """Insert ``rows`` (values for ``columns``, by field name or attname); every other
    column gets its default (``auto_now`` fields: now; a callable default is called once
    for all rows) or is left to its database default. With ``returning``, the new rows'
    primary keys, in the order of ``rows``."""
    named = [model._meta.get_field(name) for name in columns]
    others = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f not in named and f.db_default is NOT_PROVIDED
    ]
    now = timezone.now()
    filled = tuple(now if _is_auto_now(f) else f.get_default() for f in others)
    names = (*columns, *(f.attname for f in others))
    complete = [(*row, *filled) for row in rows]
    if not returning:
        insert_many(model, names, complete)
        return []
    if connection.vendor == "postgresql":
        keys = _next_keys(model, len(complete))
        rows_with_keys = [(key, *row) for key, row in zip(keys, complete, strict=True)]
        insert_many(model, (model._meta.pk.attname, *names), rows_with_keys)
        return keys
    return _insert_returning(model, [*named, *others], complete)


def _is_auto_now(field: models.Field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


def _next_keys(model: type[models.Model], count: int) -> list[int]:
    """Keys for ``count`` new rows from the table's own sequence, as its default would
    draw them; the rows then go by COPY, which cannot return them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column, count],
        )
        return [key for (key,) in cursor.fetchall()]


def _insert_returning(
    model: type[models.Model], fields: list[models.Field], rows: list[tuple]
) -> list[int]:
    """Multi-row INSERT … RETURNING, whose keys come back in the order of the rows
    (``bulk_create`` counts on the same); each distinct value is adapted once."""
    db = _db()
    adapters = [_adapter(f, db) for f in fields]
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, min(RETURNING_ROWS, limit // len(fields)))
    keys: list[int] = []
    with connection.cursor() as cursor:
        for part in batched(rows, per_statement):
            params = [
                v if adapt is None else adapt(v)
                for row in part
                for adapt, v in zip(adapters, row, strict=True)
            ]
            cursor.execute(_insert_rows_sql(model, fields, len(part)), params)
            keys += [key for (key,) in cursor.fetchall()]
    return keys


def _insert_rows_sql(model: type[models.Model], fields: list[models.Field], rows: int) -> str:
    quote = connection.ops.quote_name
    row = "({})".format(", ".join(["%s"] * len(fields)))
    # Names come from the model's metadata, quoted; every value is a parameter.
    table, names = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    values, key = ", ".join([row] * rows), quote(model._meta.pk.column)
    return f"INSERT INTO {table} ({names}) VALUES {values} RETURNING {key}"  # nosec B608


class Rows:
    """Model instances from hand-written SELECTs: ``columns(model, alias)`` writes the
    column list once, ``build(row)`` turns a fetched row back into one instance per
    model, with the ORM's own converters (SQLite's dates, booleans and JSON included),
    exactly as a compiled queryset would."""

    def __init__(self, *models: type[models.Model]) -> None:
        self.models = models
        self._fields = [list(m._meta.concrete_fields) for m in models]
        self._converters: list[list[tuple]] | None = None

    @staticmethod
    def columns(model: type[models.Model], alias: str) -> str:
        quote = connection.ops.quote_name
        return ", ".join(f"{quote(alias)}.{quote(f.column)}" for f in model._meta.concrete_fields)

    def _prepare(self) -> list[list[tuple]]:
        prepared = []
        for model, fields in zip(self.models, self._fields, strict=True):
            per_field = []
            for field in fields:
                expression = field.get_col(model._meta.db_table)
                converters = [
                    *connection.ops.get_db_converters(expression),
                    *expression.get_db_converters(connection),
                ]
                per_field.append((expression, converters))
            prepared.append(per_field)
        return prepared

    def build(self, row: Sequence) -> list[models.Model | None]:
        """One instance per model (None where a LEFT JOIN found nothing); whatever the row
        has beyond the models' columns is ignored."""
        if self._converters is None:
            self._converters = self._prepare()
        db = _db()
        instances = []
        start = 0
        for model, fields, converters in zip(
            self.models, self._fields, self._converters, strict=True
        ):
            values = list(row[start : start + len(fields)])
            start += len(fields)
            if values[0] is None:
                instances.append(None)
                continue
            for i, (expression, field_converters) in enumerate(converters):
                for convert in field_converters:
                    values[i] = convert(values[i], expression, db)
            instances.append(model.from_db(DEFAULT_DB_ALIAS, [f.attname for f in fields], values))
        return instances
