"""`beacon db analyst-login`: a BI login in the read-only role, shut out of everything but marts."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from ingestion.postgres import connection
from ingestion.warehouse import ensure_raw_schema
from tests.orchestration.test_cli import beacon


def test_analyst_login_reads_marts_only(warehouse_dsn: str) -> None:
    name = f"bi_{uuid.uuid4().hex[:10]}"
    with connection(warehouse_dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.fct_example (project_id text)")
        conn.execute("insert into marts.fct_example values ('p1')")
    try:
        result = beacon(
            "db",
            "analyst-login",
            "--name",
            name,
            env={"WAREHOUSE_DSN": warehouse_dsn, "BEACON_ANALYST_PASSWORD": "s3cret-pw"},
        )
        assert result.returncode == 0, result.stderr
        assert "s3cret-pw" not in result.stderr + result.stdout
        with connection(warehouse_dsn, autocommit=True) as conn:
            # dbt's grants give beacon_analyst the marts; here we stand in for them.
            conn.execute("grant usage on schema marts to beacon_analyst")
            conn.execute("grant select on all tables in schema marts to beacon_analyst")
            member = conn.execute(
                "select pg_has_role(%s, 'beacon_analyst', 'member')", (name,)
            ).fetchone()[0]
            assert member is True

        analyst = psycopg.conninfo.make_conninfo(warehouse_dsn, user=name, password="s3cret-pw")
        with psycopg.connect(analyst) as conn:
            assert conn.execute("select current_user").fetchone()[0] == name
            assert conn.execute("select count(*) from marts.fct_example").fetchone()[0] == 1
            # PUBLIC's default rights on schema public are gone (SPEC 7).
            assert (
                conn.execute("select has_schema_privilege('public', 'usage')").fetchone()[0]
                is False
            )
        for table in ("raw.events", "raw.projects"):
            with (
                psycopg.connect(analyst) as conn,
                pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
            ):
                conn.execute(f"select * from {table}")
    finally:
        with connection(warehouse_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
