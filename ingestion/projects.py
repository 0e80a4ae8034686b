"""The projects registry: `config/projects.yml`, validated and loaded into `raw.projects`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
import yaml

from ingestion.errors import BeaconError

DEFAULT_CONVERSION_EVENTS = ("purchase", "signup")
DEFAULT_FUNNEL_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Funnel:
    name: str
    steps: tuple[str, ...]
    conversion_window_days: int = DEFAULT_FUNNEL_WINDOW_DAYS


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    keys: tuple[str, ...]
    timezone: str = "UTC"
    currency: str = "USD"
    facebook_ad_account_ids: tuple[str, ...] = ()
    conversion_events: tuple[str, ...] = DEFAULT_CONVERSION_EVENTS
    revenue_property: str = "revenue"
    funnels: tuple[Funnel, ...] = field(default_factory=tuple)
    retention_days: int = 730


def load_projects(path: Path) -> list[Project]:
    """Read and validate the registry; every problem is a one-line BeaconError."""
    if not path.is_file():
        raise BeaconError(f"projects file {path} not found: create it or set BEACON_PROJECTS_FILE")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise BeaconError(f"projects file {path} is not valid YAML: {exc}") from exc
    entries = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise BeaconError(f"projects file {path} has no `projects:` list")
    projects = [_parse_project(entry, path) for entry in entries]
    _check_unique(projects, path)
    return projects


def _parse_project(entry: object, path: Path) -> Project:
    if not isinstance(entry, dict) or not entry.get("project_id"):
        raise BeaconError(f"{path}: every project needs a project_id")
    pid = str(entry["project_id"])

    def strings(key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = entry.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise BeaconError(f"{path}: project {pid}: `{key}` must be a list of strings")
        return tuple(str(v) for v in value)

    keys = strings("keys")
    if not keys:
        raise BeaconError(f"{path}: project {pid}: `keys` must list at least one SDK key")
    timezone = str(entry.get("timezone") or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BeaconError(f"{path}: project {pid}: unknown timezone {timezone!r}") from exc
    retention = entry.get("retention_days", 730)
    if not isinstance(retention, int) or retention <= 0:
        raise BeaconError(f"{path}: project {pid}: retention_days must be a positive integer")
    account_ids = tuple(a.removeprefix("act_") for a in strings("facebook_ad_account_ids"))
    return Project(
        project_id=pid,
        name=str(entry.get("name") or pid),
        keys=keys,
        timezone=timezone,
        currency=str(entry.get("currency") or "USD"),
        facebook_ad_account_ids=account_ids,
        conversion_events=strings("conversion_events", DEFAULT_CONVERSION_EVENTS),
        revenue_property=str(entry.get("revenue_property") or "revenue"),
        funnels=tuple(_parse_funnel(f, pid, path) for f in entry.get("funnels") or []),
        retention_days=retention,
    )


def _parse_funnel(entry: object, pid: str, path: Path) -> Funnel:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise BeaconError(f"{path}: project {pid}: every funnel needs a name")
    steps = entry.get("steps")
    if not isinstance(steps, list) or len(steps) < 2 or not all(isinstance(s, str) for s in steps):
        raise BeaconError(
            f"{path}: project {pid}: funnel {entry['name']!r} needs a list of 2+ event names"
        )
    window = entry.get("conversion_window_days", DEFAULT_FUNNEL_WINDOW_DAYS)
    if not isinstance(window, int) or window <= 0:
        raise BeaconError(f"{path}: project {pid}: conversion_window_days must be positive")
    return Funnel(str(entry["name"]), tuple(steps), window)


def _check_unique(projects: list[Project], path: Path) -> None:
    seen_ids: set[str] = set()
    owner_of: dict[str, str] = {}
    for project in projects:
        if project.project_id in seen_ids:
            raise BeaconError(f"{path}: project_id {project.project_id!r} appears twice")
        seen_ids.add(project.project_id)
        for key in (*project.keys, *(f"act:{a}" for a in project.facebook_ad_account_ids)):
            if key in owner_of:
                raise BeaconError(
                    f"{path}: {key!r} belongs to both {owner_of[key]} and {project.project_id}"
                )
            owner_of[key] = project.project_id


def project_by_key(projects: list[Project]) -> dict[str, Project]:
    return {key: project for project in projects for key in project.keys}


def write_projects(conn: psycopg.Connection, projects: list[Project]) -> None:
    """Replace the registry tables in one transaction."""
    with conn.transaction():
        for table in (
            "projects",
            "project_keys",
            "project_conversion_events",
            "project_funnel_steps",
            "project_ad_accounts",
        ):
            conn.execute(f"delete from raw.{table}")
        with conn.cursor() as cur:
            cur.executemany(
                "insert into raw.projects (project_id, name, keys, timezone, currency,"
                " facebook_ad_account_ids, conversion_events, revenue_property, retention_days,"
                " funnels) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        p.project_id,
                        p.name,
                        list(p.keys),
                        p.timezone,
                        p.currency,
                        list(p.facebook_ad_account_ids),
                        list(p.conversion_events),
                        p.revenue_property,
                        p.retention_days,
                        json.dumps(
                            [
                                {
                                    "name": f.name,
                                    "steps": list(f.steps),
                                    "conversion_window_days": f.conversion_window_days,
                                }
                                for f in p.funnels
                            ]
                        ),
                    )
                    for p in projects
                ],
            )
            cur.executemany(
                "insert into raw.project_keys (key, project_id) values (%s, %s)",
                [(k, p.project_id) for p in projects for k in p.keys],
            )
            cur.executemany(
                "insert into raw.project_conversion_events values (%s, %s)",
                [(p.project_id, e) for p in projects for e in dict.fromkeys(p.conversion_events)],
            )
            cur.executemany(
                "insert into raw.project_funnel_steps values (%s, %s, %s, %s, %s)",
                [
                    (p.project_id, f.name, n, step, f.conversion_window_days)
                    for p in projects
                    for f in p.funnels
                    for n, step in enumerate(f.steps, 1)
                ],
            )
            cur.executemany(
                "insert into raw.project_ad_accounts values (%s, %s)",
                [(p.project_id, a) for p in projects for a in p.facebook_ad_account_ids],
            )
