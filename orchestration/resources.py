"""Dagster resources: thin wrappers that build the plain-Python clients from configuration.

Each resource's defaults come from the environment (SPEC 2), so the same definitions serve
`dagster dev`, `beacon` and tests; tests swap in their own values (another DSN, a fake API).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dagster import ConfigurableResource

from ingestion.config import Settings
from ingestion.facebook_ads.client import GraphApiClient
from ingestion.postgres import warehouse_dsn
from ingestion.projects import Project, load_projects


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL warehouse: `dsn`, else WAREHOUSE_DSN, else the embedded server."""

    dsn: str | None = None

    def get_dsn(self) -> str:
        return self.dsn or warehouse_dsn()


class ProjectsRegistryResource(ConfigurableResource):
    """The projects registry file (BEACON_PROJECTS_FILE by default)."""

    path: str | None = None

    def load(self) -> list[Project]:
        return load_projects(Path(self.path) if self.path else Settings.from_env().projects_file)


class LandingResource(ConfigurableResource):
    """Where event files land (BEACON_LANDING_DIR by default)."""

    path: str | None = None

    def get_path(self) -> Path:
        return Path(self.path) if self.path else Settings.from_env().landing_dir


class GraphApiResource(ConfigurableResource):
    """The Meta Marketing API; the token is read from META_ACCESS_TOKEN, never stored."""

    base_url: str | None = None
    api_version: str | None = None
    access_token: str | None = None

    def client(self) -> GraphApiClient:
        settings = Settings.from_env()
        overrides = {
            "meta_graph_url": self.base_url,
            "meta_api_version": self.api_version,
            "meta_access_token": self.access_token,
        }
        settings = replace(settings, **{k: v for k, v in overrides.items() if v})
        return GraphApiClient.from_settings(settings)
