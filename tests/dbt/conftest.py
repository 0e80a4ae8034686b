"""One warehouse per server for the whole package: dbt runs cost seconds each, so they happen
once and every test of tests/dbt asserts on the result."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SERVERS, _admin_dsn, fresh_database
from tests.dbt import dataset
from tests.dbt.dbt_cli import run_dbt

MARTS = [
    "dim_ads", "dim_users", "dim_visitors", "fct_ad_performance_daily",
    "fct_adset_performance_daily", "fct_campaign_performance_daily", "fct_daily_rollups",
    "fct_events", "fct_funnel_daily", "fct_sessions",
]
INCREMENTAL_COPY = "incremental_result"
# `dbt build` arguments that build the models and seeds without running any test.
MODELS_ONLY = ("--exclude", "resource_type:test", "resource_type:unit_test")
# Intermediate tables whose incremental state the tests inspect too.
INTERMEDIATE = ["int_funnel_steps_reached"]


@dataclass
class BuiltWarehouse:
    dsn: str
    server: str
    target_path: Path
    first_build_rollup_days: list[date] = field(default_factory=list)
    incremental_row_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(sql, params).fetchall()

    def connection(self) -> psycopg.Connection:
        return psycopg.connect(self.dsn, autocommit=True)

    def dbt(self, *args: str) -> None:
        run_dbt(self.dsn, self.target_path, *args)

    def row_counts(self) -> dict[str, tuple[int, int]]:
        """Each mart's row count as its builds kept it (macros/row_counts.sql), and counted."""
        return {
            mart: self.rows(
                "select (select row_count from analytics.beacon_row_counts"
                f" where relid = 'marts.{mart}'::regclass), (select count(*) from marts.{mart})"
            )[0]
            for mart in MARTS
        }

    def copy_aside(self, schema: str, tables: dict[str, list[str]]) -> None:
        """Copy `tables` ({source schema: names}) into a new `schema`, to compare with what a
        later build makes of them."""
        with self.connection() as conn:
            conn.execute(f"create schema {schema}")
            for source, names in tables.items():
                for name in names:
                    conn.execute(f"create table {schema}.{name} as table {source}.{name}")


@contextmanager
def throwaway_database(
    request: pytest.FixtureRequest,
    server_dsns: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuiltWarehouse]:
    """A new, empty database on the server of `request.param`, dropped afterwards."""
    with fresh_database(_admin_dsn(request.param, request, server_dsns)) as dsn:
        yield BuiltWarehouse(dsn, request.param, tmp_path_factory.mktemp("dbt-target"))


@pytest.fixture(scope="package", params=SERVERS)
def warehouse(
    request: pytest.FixtureRequest,
    server_dsns: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuiltWarehouse]:
    """The hand-written dataset loaded in two loads with an incremental build after each, the
    incremental marts copied aside, then a full-refresh `dbt build` (data and unit tests
    included) over the same raw data."""
    with throwaway_database(request, server_dsns, tmp_path_factory) as built:
        with built.connection() as conn:
            dataset.load_registry(conn)
            dataset.load_events(conn, second_load=False)
        built.dbt("build", *MODELS_ONLY)
        built.first_build_rollup_days = [
            day for (day,) in built.rows("select day from marts.fct_daily_rollups order by day")
        ]
        with built.connection() as conn:
            dataset.load_events(conn, second_load=True)
        built.dbt("build", *MODELS_ONLY)
        built.incremental_row_counts = built.row_counts()
        built.copy_aside(INCREMENTAL_COPY, {"marts": MARTS, "intermediate": INTERMEDIATE})
        built.dbt("build", "--full-refresh")
        yield built
