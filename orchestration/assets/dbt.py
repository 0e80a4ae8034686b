"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks."""

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from psycopg import sql

from ingestion.postgres import connection, dbt_env
from ingestion.warehouse import pipeline_writer_lock
from orchestration.assets.progress import progress
from orchestration.assets.seed_loads import record_seed_loads, unchanged_seeds
from orchestration.dbt_project import (
    beacon_dbt,
    ensure_manifest,
    invocation_folders,
    target_schema,
)
from orchestration.resources import WarehouseResource


class BeaconDbtTranslator(DagsterDbtTranslator):
    """Models are keyed `[schema, model]` (`marts/fct_sessions`) and grouped by layer;
    sources keep dagster-dbt's `[source, table]`, which the raw assets share."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return "raw"
        return _layer(dbt_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    return props.get("config", {}).get("schema") or props.get("schema") or target_schema()


translator = BeaconDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    full_refresh: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The `dbt build` arguments for a run; selection comes from the Dagster run itself."""
    return ["build", *(["--full-refresh"] if config.full_refresh else [])]


# dbt.log (target/<invocation>/) at info: at debug, its default, it also holds every SQL
# statement, ~2,000 JSON lines (3 MB) per build that dbt's threads format and write under the
# GIL. DBT_LOG_LEVEL_FILE=debug in the environment brings them back.
DBT_LOG_LEVEL_FILE = "info"


# Unit tests pin SQL logic on fixed inputs: they run in `make test` (tests/dbt), not in
# production builds, where incremental-mode unit tests would need the mart to exist already.
@dbt_assets(
    manifest=ensure_manifest(),
    project=beacon_dbt,
    dagster_dbt_translator=translator,
    exclude="resource_type:unit_test",
)
def dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    dsn = warehouse.get_dsn()
    # dbt runs as a subprocess that reads the connection from profiles.yml's env vars.
    os.environ.update(dbt_env(dsn))
    os.environ.setdefault("DBT_LOG_LEVEL_FILE", DBT_LOG_LEVEL_FILE)
    nodes = json.loads(beacon_dbt.manifest_path.read_text())["nodes"]
    whole_graph = set(context.selected_asset_keys) == set(context.assets_def.keys)
    unchanged = unchanged_seeds(dsn, nodes) if whole_graph and not config.full_refresh else []
    args = [*dbt_build_args(config), *(["--exclude", " ".join(unchanged)] if unchanged else [])]
    with pipeline_writer_lock(dsn, progress=progress(context)):
        invocation = dbt.cli(args, context=context)
        built = []
        try:
            for event in with_row_counts(invocation.stream(), dsn, nodes):
                built.append(_unique_id(event))
                yield event
            # Only now: a failed build (a seed's failing test, say) loads its seeds again.
            record_seed_loads(dsn, nodes, built)
        finally:
            prune_invocation_folders(Path(invocation.target_path).parent)


# dagster-dbt gives each dbt invocation a folder under target/ (its log, compiled SQL, manifest
# and run results: ~5 MB) and never removes it; a pipeline on a schedule would fill the disk.
KEPT_INVOCATION_FOLDERS = 20


def prune_invocation_folders(target_dir: Path, keep: int = KEPT_INVOCATION_FOLDERS) -> None:
    """Remove all but the newest `keep` invocation folders of the dbt assets under `target_dir`."""
    for old in invocation_folders(target_dir)[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def _unique_id(event) -> str | None:
    """The dbt node a dagster-dbt event (materialization or check result) is about."""
    unique_id = getattr(event, "metadata", {}).get("unique_id")
    return getattr(unique_id, "value", unique_id)


def with_row_counts(events: Iterable, dsn: str, nodes: Mapping[str, Any]) -> Iterator:
    """Add `dagster/row_count` to each materialized mart: the count its build kept in
    beacon_row_counts (macros/row_counts.sql), else a count(*) on our own connection
    (dagster-dbt's fetch_row_counts queries the database name frozen in the manifest)."""
    counts = sql.Identifier(target_schema(), "beacon_row_counts")
    with connection(dsn, autocommit=True) as conn:
        for event in events:
            unique_id = _unique_id(event)
            node = nodes.get(unique_id) if unique_id else None
            if node and node.get("schema") == "marts":
                relation = sql.Identifier(node["schema"], node.get("alias") or node["name"])
                event = event.with_metadata(
                    {**event.metadata, "dagster/row_count": _row_count(conn, relation, counts)}
                )
            yield event


def _row_count(conn, relation: sql.Identifier, counts: sql.Identifier) -> int:
    kept = conn.execute(
        sql.SQL("select row_count from {} where relid = to_regclass(%s)").format(counts),
        [relation.as_string(conn)],
    ).fetchone()
    if kept:
        return kept[0]
    return conn.execute(sql.SQL("select count(*) from {}").format(relation)).fetchone()[0]
