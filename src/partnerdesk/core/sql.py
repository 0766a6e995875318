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
    with _db().cursor() as cursor:
        cursor.execute(
            _insert_sql(model, columns, True), adapt(model, columns, list(values.values()))
        )
        return cursor.fetchone()[0]


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
    adapters = [_adapter(f, db) for f in _fields(model, (*columns, model._meta.pk.name, *guard))]
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
