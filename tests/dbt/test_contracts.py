"""Marts with an enforced contract are built as declared (macros/contract_tables.sql builds
them with CREATE TABLE AS and adds the constraints afterwards): columns in the declared order
and types, the declared not-null columns and nothing else, the declared primary key (whose
columns are not null too) and check constraints."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.dbt.conftest import BuiltWarehouse

TABLE_COLUMNS = """
select attname, format_type(atttypid, atttypmod), attnotnull
from pg_attribute
where attrelid = %s::regclass and attnum > 0 and not attisdropped
order by attnum
"""
CHECKS = "select count(*) from pg_constraint where conrelid = %s::regclass and contype = 'c'"
PRIMARY_KEY = """
select array_agg(attname order by array_position(conkey, attnum))
from pg_constraint
join pg_attribute on attrelid = conrelid and attnum = any(conkey)
where conrelid = %s::regclass and contype = 'p'
"""


def test_contract_marts_have_the_declared_columns_types_and_constraints(
    warehouse: BuiltWarehouse,
) -> None:
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    contracted = [node for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["contract"]["enforced"]]
    assert {node["name"] for node in contracted} >= {"fct_events", "fct_sessions", "dim_visitors"}
    with psycopg.connect(warehouse.dsn) as conn:
        for node in contracted:
            table = f'{node["schema"]}.{node["alias"]}'
            columns = list(node["columns"].values())
            declared = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in columns)
            # The declared types as PostgreSQL spells them (numeric(38,12), timestamp with ...).
            conn.execute(f"create temp table declared ({declared})")
            [declared_key] = [c["columns"] for c in node["constraints"]
                              if c["type"] == "primary_key"] or [None]
            expected = [
                (name, data_type, name in (declared_key or [])
                 or any(c["type"] == "not_null" for c in column.get("constraints", [])))
                for (name, data_type, _), column in zip(
                    conn.execute(TABLE_COLUMNS, ("declared",)).fetchall(), columns, strict=True)
            ]
            conn.execute("drop table declared")
            assert conn.execute(TABLE_COLUMNS, (table,)).fetchall() == expected, table

            [(built_key,)] = conn.execute(PRIMARY_KEY, (table,)).fetchall()
            assert built_key == declared_key, table
            checks = sum(c["type"] == "check" for c in node["constraints"])
            assert conn.execute(CHECKS, (table,)).fetchone() == (checks,), table


def test_contract_checks_refuse_values_outside_them(warehouse: BuiltWarehouse) -> None:
    with psycopg.connect(warehouse.dsn) as conn:
        for table, column in [("fct_events", "source_shape"), ("fct_sessions", "channel_group")]:
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(f"update marts.{table} set {column} = 'fax'")
