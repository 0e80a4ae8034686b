"""The projects registry (config/projects.yml) as raw tables."""

from dagster import AssetSpec, MaterializeResult, multi_asset

from ingestion.postgres import connection
from ingestion.projects import write_projects
from ingestion.warehouse import ensure_raw_schema
from orchestration.assets.keys import PROJECT_TABLES, raw
from orchestration.resources import ProjectsRegistryResource, WarehouseResource


@multi_asset(
    specs=[
        AssetSpec(
            raw(table),
            group_name="raw",
            kinds={"postgres"},
            description=f"raw.{table}: from the projects registry file",
        )
        for table in PROJECT_TABLES
    ],
    name="projects_registry",
)
def projects_registry(warehouse: WarehouseResource, projects_registry: ProjectsRegistryResource):
    projects = projects_registry.load()
    with connection(warehouse.get_dsn()) as conn:
        ensure_raw_schema(conn)
        write_projects(conn, projects)
        counts = {
            t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in PROJECT_TABLES
        }
    for table in PROJECT_TABLES:
        yield MaterializeResult(asset_key=raw(table), metadata={"dagster/row_count": counts[table]})
