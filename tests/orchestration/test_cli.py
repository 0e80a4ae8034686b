"""The `beacon` command as a user runs it: real subprocesses, real servers, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import free_port


def beacon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    ours = ("BEACON_", "WAREHOUSE_", "META_", "DAGSTER_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,  # CI has no standard input
    )


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """Failure: a non-zero exit and one error line, the last, after any progress lines."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("beacon: error:")]
    assert errors == lines[-1:], result.stderr
    assert fragment in errors[0], errors[0]
    assert "Traceback" not in result.stderr


def test_db_start_reuse_url_stop(tmp_path: Path) -> None:
    env = {"BEACON_HOME": str(tmp_path / "home"), "BEACON_DB_PORT": str(free_port())}
    started = beacon("db", "start", env=env)
    assert started.returncode == 0, started.stderr
    try:
        assert "started" in started.stderr
        again = beacon("db", "start", env=env)
        assert again.returncode == 0 and "already running" in again.stderr
        url = beacon("db", "url", env=env).stdout.strip()
        assert url == f"postgresql://postgres@127.0.0.1:{env['BEACON_DB_PORT']}/beacon"
        with psycopg.connect(url) as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "beacon"
        exports = beacon("db", "env", env=env).stdout
        assert f"export BEACON_PGPORT='{env['BEACON_DB_PORT']}'" in exports
        assert "export BEACON_PGDATABASE='beacon'" in exports
    finally:
        stopped = beacon("db", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert_one_line_error(beacon("db", "url", env=env), "not running")


def test_warehouse_dsn_overrides_the_embedded_server(warehouse_dsn: str, tmp_path: Path) -> None:
    env = {"WAREHOUSE_DSN": warehouse_dsn, "BEACON_HOME": str(tmp_path / "unused")}
    result = beacon("db", "url", env=env)
    assert result.returncode == 0 and result.stdout.strip() == warehouse_dsn
    assert beacon("db", "start", env=env).returncode == 0
    assert not (tmp_path / "unused" / "pgdata").exists()  # no embedded server was started
    sql = beacon("db", "psql", env=env)  # stdin is empty: psql connects and exits
    assert sql.returncode == 0, sql.stderr


def test_bad_dsn_is_one_line(tmp_path: Path) -> None:
    env = {"WAREHOUSE_DSN": f"postgresql://nobody:hunter2@127.0.0.1:{free_port()}/nowhere"}
    result = beacon("db", "start", env=env)
    assert_one_line_error(result, "cannot connect to the warehouse")
    assert "hunter2" not in result.stderr


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = beacon(
            "db", "start", env={"BEACON_HOME": str(tmp_path), "BEACON_DB_PORT": str(port)}
        )
    assert_one_line_error(result, f"port {port} is in use")


def test_unwritable_home_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = beacon(
        "db",
        "start",
        env={"BEACON_HOME": str(blocker / "home"), "BEACON_DB_PORT": str(free_port())},
    )
    assert_one_line_error(result, "is not writable")


def test_missing_projects_file_is_one_line(warehouse_dsn: str, tmp_path: Path) -> None:
    result = beacon(
        "ingest",
        "events",
        env={
            "WAREHOUSE_DSN": warehouse_dsn,
            "BEACON_PROJECTS_FILE": str(tmp_path / "nope.yml"),
            "BEACON_LANDING_DIR": str(tmp_path),
        },
    )
    assert_one_line_error(result, "nope.yml not found")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["ingest", "facebook", "--since", "2026-02-01", "--until", "2026-01-01"], "is after"),
        (["sample-data", "--events", "0"], "must be a positive integer"),
    ],
)
def test_bad_arguments_are_rejected(args: list[str], fragment: str, tmp_path: Path) -> None:
    result = beacon(*args, env={"BEACON_HOME": str(tmp_path)})
    assert result.returncode != 0
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_ingest_events_runs_through_dagster_and_reports_counts(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()

    def mobile(key: str, name: str, ms: int) -> str:
        return json.dumps(
            {"api_key": key, "event_name": name, "session_id": "s1", "timestamp_ms": ms}
        )

    lines = [
        mobile("k1", "app_open", 1_790_000_000_000),
        mobile("k1", "app_open", 1_790_000_000_000),  # the same line again: a duplicate
        mobile("k1", "purchase", 1_790_000_060_000),
        mobile("nobody", "x", 1_790_000_000_000),  # unknown project key
        "not json",
    ]
    (landing / "day.ndjson").write_text("\n".join(lines) + "\n")
    projects = tmp_path / "projects.yml"
    projects.write_text("projects:\n  - project_id: p1\n    keys: [k1]\n")
    env = {
        "WAREHOUSE_DSN": warehouse_dsn,
        "BEACON_PROJECTS_FILE": str(projects),
        "BEACON_HOME": str(tmp_path / "home"),
        "BEACON_NOW": "2026-09-23T00:00:00Z",
    }
    result = beacon("ingest", "events", "--landing", str(landing), env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "events: 1 file(s) loaded, 0 skipped; 2 events loaded, 1 duplicates, 2 quarantined"
    ) in result.stderr
    with psycopg.connect(warehouse_dsn) as conn:
        assert conn.execute("select count(*) from raw.events").fetchone()[0] == 2
        assert conn.execute("select count(*) from raw.quarantine").fetchone()[0] == 2
    # The run is in Dagster's instance under BEACON_HOME, for the UI's run history.
    assert list((tmp_path / "home" / "dagster").glob("**/runs.db"))


def test_a_failed_run_is_one_line_without_the_token(warehouse_dsn: str, tmp_path: Path) -> None:
    from ingestion.facebook_ads.fake_graph_api import FakeGraphApi

    fixtures = tmp_path / "facebook"
    fixtures.mkdir()
    account = {
        "id": "act_77",
        "account_id": "77",
        "name": "A",
        "currency": "USD",
        "timezone_name": "UTC",
    }
    (fixtures / "act_77.json").write_text(
        json.dumps(
            {
                "account": account,
                "campaigns": [],
                "adsets": [],
                "ads": [],
                "insights": [],
                "insights_placement": [],
            }
        )
    )
    projects = tmp_path / "projects.yml"
    projects.write_text(
        "projects:\n  - project_id: p1\n    keys: [k1]\n    facebook_ad_account_ids: ['77']\n"
    )
    with FakeGraphApi(fixtures, access_token="the-right-token") as api:
        result = beacon(
            "ingest",
            "facebook",
            "--since",
            "2026-10-01",
            "--until",
            "2026-10-02",
            env={
                "WAREHOUSE_DSN": warehouse_dsn,
                "BEACON_PROJECTS_FILE": str(projects),
                "BEACON_HOME": str(tmp_path / "home"),
                "META_GRAPH_URL": api.url,
                "META_ACCESS_TOKEN": "a-wrong-token-123",
            },
        )
    assert_one_line_error(result, "190")
    assert "a-wrong-token-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stdout
