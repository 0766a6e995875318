"""Hand-compiled statements for the few hot and bulk paths.

The ORM compiles every statement anew (a third of a request's time on the write path, by
cProfile); these helpers build the SQL of a statement once per process from the model's
own metadata, quote every name, and pass every value as a parameter, adapted by the field
exactly as the ORM would adapt it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from itertools import islice
from typing import Any

from django.db import connection, models

BATCH = 20_000


def batched(items: Iterable, size: int = BATCH):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in columns]


def adapt(model: type[models.Model], columns: Sequence[str], values: Sequence[Any]) -> list:
    return [
        field.get_db_prep_save(value, connection)
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
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(model, columns, True), adapt(model, columns, list(values.values()))
        )
        return cursor.fetchone()[0]


def insert_many(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """executemany straight to the driver, in batches; rows are adapted field by field."""
    columns = tuple(columns)
    sql = _insert_sql(model, columns, False)
    fields = _fields(model, columns)
    count = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows):
            cursor.executemany(
                sql,
                [
                    [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                    for row in chunk
                ],
            )
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
    fields = _fields(model, (*columns, model._meta.pk.name, *guard))
    updated = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows):
            prepared = [
                [f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)]
                for row in chunk
            ]
            if len(prepared) == 1:
                cursor.execute(sql, prepared[0])
            else:
                cursor.executemany(sql, prepared)
            updated += cursor.rowcount
    return updated
