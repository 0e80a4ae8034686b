"""Every dbt model, seed and snapshot as a Dagster asset; dbt tests as asset checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey, Config
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from ingestion.postgres import dbt_env
from orchestration.dbt_project import beacon_dbt, ensure_manifest
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
    return props.get("config", {}).get("schema") or props.get("schema") or "analytics"


translator = BeaconDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(Config):
    full_refresh: bool = False


def dbt_build_args(config: DbtBuildConfig) -> list[str]:
    """The `dbt build` arguments for a run; selection comes from the Dagster run itself."""
    return ["build", *(["--full-refresh"] if config.full_refresh else [])]


@dbt_assets(manifest=ensure_manifest(), project=beacon_dbt, dagster_dbt_translator=translator)
def dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    config: DbtBuildConfig,
):
    # dbt runs as a subprocess that reads the connection from profiles.yml's env vars.
    os.environ.update(dbt_env(warehouse.get_dsn()))
    yield from dbt.cli(dbt_build_args(config), context=context).stream().fetch_row_counts()
