"""The one Dagster code location of Beacon (workspace.yaml and `[tool.dagster]` load `defs`)."""

from dagster import Definitions, colored_console_logger

from orchestration.assets.dbt import dbt_models
from orchestration.assets.events import event_files, events_retention
from orchestration.assets.facebook import facebook_ads
from orchestration.assets.projects import projects_registry
from orchestration.checks import own_checks
from orchestration.console import beacon_console
from orchestration.dbt_project import DBT_EXECUTABLE, BeaconDbtCliResource, beacon_dbt
from orchestration.jobs import all_jobs
from orchestration.resources import (
    GraphApiResource,
    LandingResource,
    ProjectsRegistryResource,
    WarehouseResource,
)
from orchestration.schedules import all_schedules
from orchestration.sensors import new_event_files_sensor


def default_resources() -> dict:
    """Resources configured from the environment; tests pass their own to `build_defs`."""
    return {
        "warehouse": WarehouseResource(),
        "projects_registry": ProjectsRegistryResource(),
        "landing": LandingResource(),
        "graph_api": GraphApiResource(),
        "dbt": BeaconDbtCliResource(project_dir=beacon_dbt, dbt_executable=str(DBT_EXECUTABLE)),
    }


def build_defs(resources: dict | None = None) -> Definitions:
    return Definitions(
        assets=[projects_registry, event_files, events_retention, facebook_ads, dbt_models],
        asset_checks=own_checks,
        jobs=all_jobs,
        schedules=all_schedules,
        sensors=[new_event_files_sensor],
        resources={**default_resources(), **(resources or {})},
        # Dagster's own console logger too: `beacon --debug` selects it (runner.py).
        loggers={"beacon_console": beacon_console, "console": colored_console_logger},
    )


defs = build_defs()
