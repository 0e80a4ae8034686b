"""Loading dbt seeds only when they changed.

A seed is a CSV file of the repository (bot patterns, traffic sources, ...). dbt reloads every
seed in every build (truncate, then insert its rows, then its tests): five seeds and their
eleven tests were a sixth of the nodes of a build with nothing new. A whole-graph build now
leaves out each seed whose file and config are the ones it last loaded, and whose table is
still there; the models read the table as it is. A full refresh, or a run that selects
seeds itself (the Dagster UI, `beacon build --select`), loads them as before.

`beacon_seed_loads`, beside Beacon's other bookkeeping in the dbt target schema, keeps each
seed's fingerprint from the last build that loaded it and then succeeded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from psycopg import sql

from ingestion.postgres import connection
from orchestration.dbt_project import target_schema

SEED_LOADS = "beacon_seed_loads"


def fingerprint(node: Mapping) -> str:
    """What a seed's load depends on: its file's checksum, its config and its relation."""
    parts = [node["checksum"], node["config"], node["schema"], node.get("alias") or node["name"]]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def seeds(nodes: Mapping[str, Mapping]) -> dict[str, Mapping]:
    return {uid: node for uid, node in nodes.items() if node["resource_type"] == "seed"}


def unchanged_seeds(dsn: str, nodes: Mapping[str, Mapping]) -> list[str]:
    """The names of the seeds whose last load has their current fingerprint and whose table
    exists: the ones a build may leave out."""
    current = seeds(nodes)
    loads = sql.Identifier(target_schema(), SEED_LOADS)
    with connection(dsn, autocommit=True) as conn:
        if conn.execute("select to_regclass(%s)", [loads.as_string(conn)]).fetchone()[0] is None:
            return []
        tables = [
            sql.Identifier(node["schema"], node.get("alias") or node["name"]).as_string(conn)
            for node in current.values()
        ]
        found = conn.execute(
            sql.SQL(
                "select seed from unnest(%s::text[], %s::text[], %s::text[])"
                " as now_seeds (seed, relation, fingerprint)"
                " join {} as loads using (seed)"
                " where loads.fingerprint = now_seeds.fingerprint"
                " and to_regclass(now_seeds.relation) is not null"
            ).format(loads),
            [list(current), tables, [fingerprint(node) for node in current.values()]],
        ).fetchall()
    return sorted(current[uid]["name"] for (uid,) in found)


def record_seed_loads(dsn: str, nodes: Mapping[str, Mapping], built: Iterable[str]) -> None:
    """Keep the fingerprints of the seeds among `built` (unique ids of the nodes a successful
    build has just run)."""
    current = seeds(nodes)
    rows = [(uid, fingerprint(current[uid])) for uid in set(built) if uid in current]
    if not rows:
        return
    schema = sql.Identifier(target_schema())
    loads = sql.Identifier(target_schema(), SEED_LOADS)
    with connection(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("create schema if not exists {}").format(schema))
        conn.execute(
            sql.SQL(
                "create table if not exists {} (seed text primary key, fingerprint text not null,"
                " loaded_at timestamptz not null default now())"
            ).format(loads)
        )
        with conn.cursor() as cursor:
            cursor.executemany(
                sql.SQL(
                    "insert into {} (seed, fingerprint) values (%s, %s) on conflict (seed)"
                    " do update set fingerprint = excluded.fingerprint, loaded_at = now()"
                ).format(loads),
                rows,
            )
