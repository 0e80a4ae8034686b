"""`beacon db ...`: the embedded server, the DSN, psql, and the analysts' login."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from psycopg import sql

from ingestion.config import Settings
from ingestion.errors import BeaconError
from ingestion.postgres import (
    EmbeddedServer,
    connection,
    dbt_env,
    embedded_bin_path,
    redact,
    warehouse_dsn,
)
from orchestration.commands.progress import say


def main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    action = args.action
    if action == "start":
        if settings.warehouse_dsn:
            with connection(settings.warehouse_dsn):
                pass
            say(f"using WAREHOUSE_DSN {redact(settings.warehouse_dsn)} (nothing to start)")
        else:
            was_running = EmbeddedServer.from_settings(settings).is_running()
            dsn = warehouse_dsn(settings)
            say(f"embedded PostgreSQL {'already running' if was_running else 'started'}: {dsn}")
        return 0
    if action == "stop":
        if settings.warehouse_dsn:
            raise BeaconError("WAREHOUSE_DSN is set: Beacon does not stop an external server")
        stopped = EmbeddedServer.from_settings(settings).stop()
        say("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    dsn = warehouse_dsn(settings, start=action != "url")
    if action == "url":
        print(dsn)
    elif action == "env":
        for key, value in dbt_env(dsn).items():
            print(f"export {key}={value!r}" if value else f"export {key}=''")
    elif action == "psql":
        return subprocess.call([_psql(), dsn])
    elif action == "analyst-login":
        create_analyst_login(dsn, args.name)
    return 0


def _psql() -> str:
    bundled = embedded_bin_path() / "psql"
    return str(bundled) if bundled.exists() else (shutil.which("psql") or "psql")


def create_analyst_login(dsn: str, name: str) -> None:
    """A login role for BI tools, member of the read-only `beacon_analyst` role."""
    password = os.environ.get("BEACON_ANALYST_PASSWORD")
    if not password:
        raise BeaconError("set BEACON_ANALYST_PASSWORD to the password the BI login should use")
    with connection(dsn, autocommit=True) as conn:
        ensure_analyst_role(conn)
        exists = conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone()
        conn.execute(
            sql.SQL("{verb} role {name} login password {password}").format(
                verb=sql.SQL("alter" if exists else "create"),
                name=sql.Identifier(name),
                password=sql.Literal(password),
            )
        )
        conn.execute(sql.SQL("grant beacon_analyst to {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("grant connect on database {} to beacon_analyst").format(
                sql.Identifier(conn.info.dbname)
            )
        )
        # SPEC 7: analysts see `marts` and nothing else, so PUBLIC loses its default
        # rights on schema public in this database.
        conn.execute("revoke all on schema public from public")
    say(f"login {name!r} can read schema marts (role beacon_analyst)")


def ensure_analyst_role(conn) -> None:
    """Create `beacon_analyst` once per server; tolerate a concurrent creator."""
    conn.execute(
        "do $$ begin create role beacon_analyst nologin; "
        "exception when duplicate_object or unique_violation then null; end $$"
    )
