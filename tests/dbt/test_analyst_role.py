"""SPEC 7: beacon_analyst reads every mart and nothing else."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from ingestion.postgres import dsn_parts, with_database
from tests.dbt.conftest import MARTS, BuiltWarehouse

FORBIDDEN = ["raw.events", "raw.projects", "staging.stg_raw__events",
             "intermediate.int_identifies", "seeds.bot_user_agent_patterns"]


@pytest.fixture
def analyst_dsn(warehouse: BuiltWarehouse):
    """A throwaway login that is a member of beacon_analyst (roles are cluster-wide)."""
    login = f"beacon_analyst_probe_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    with warehouse.connection() as conn:
        conn.execute(f"create role {login} login password '{password}' in role beacon_analyst")
    parts = dsn_parts(warehouse.dsn)
    dsn = with_database(
        f"postgresql://{login}:{password}@{parts['host']}:{parts['port']}/postgres",
        parts["dbname"],
    )
    yield dsn
    with warehouse.connection() as conn:
        conn.execute(f"drop role {login}")


def test_analyst_selects_every_mart(warehouse: BuiltWarehouse, analyst_dsn: str) -> None:
    with psycopg.connect(analyst_dsn) as conn:
        counts = {mart: conn.execute(f"select count(*) from marts.{mart}").fetchone()[0]
                  for mart in MARTS}
    assert counts == {mart: warehouse.rows(f"select count(*) from marts.{mart}")[0][0]
                      for mart in MARTS}
    assert counts["fct_sessions"] == 11


@pytest.mark.parametrize("relation", FORBIDDEN)
def test_analyst_is_denied_everything_else(
    warehouse: BuiltWarehouse, analyst_dsn: str, relation: str
) -> None:
    with psycopg.connect(analyst_dsn) as conn, pytest.raises(
        psycopg.errors.InsufficientPrivilege, match="permission denied"
    ):
        conn.execute(f"select 1 from {relation} limit 1")


def test_analyst_cannot_write_marts(warehouse: BuiltWarehouse, analyst_dsn: str) -> None:
    with psycopg.connect(analyst_dsn) as conn, pytest.raises(
        psycopg.errors.InsufficientPrivilege, match="permission denied"
    ):
        conn.execute("delete from marts.fct_sessions")
