"""Shared fixtures: a throwaway warehouse database on every server under test.

`warehouse_dsn` runs a test once on the embedded PostgreSQL 18 (started for the session in a
temporary BEACON_HOME) and once more on the server named by `BEACON_TEST_DSN` when it is set
(CI points it at PostgreSQL 15). Each test gets a new, empty database, dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from xdist.scheduler import LoadScopeScheduling

from ingestion.config import REPO_ROOT
from ingestion.postgres import EmbeddedServer, with_database

SERVERS = ["embedded", "external"]

# Parallel workers each get their own dbt target folder (dbt and dagster-dbt read
# DBT_TARGET_PATH): the manifest, its parse stamp and partial parse are per connection, and
# the workers test on different servers. Set before orchestration.dbt_project is imported.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = str(REPO_ROOT / "target" / f"pytest-{worker}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(tmp_path_factory.mktemp("beacon-home"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_dsns(request: pytest.FixtureRequest) -> dict[str, str]:
    """Admin DSNs (database `postgres`) of the servers under test, started lazily."""
    return {}


def _admin_dsn(name: str, request: pytest.FixtureRequest, cache: dict[str, str]) -> str:
    if name not in cache:
        if name == "external":
            external = os.environ.get("BEACON_TEST_DSN")
            if not external:
                pytest.skip("BEACON_TEST_DSN is not set")
            cache[name] = with_database(external, "postgres")
        else:
            server = request.getfixturevalue("embedded_server")
            cache[name] = server.url("postgres")
    return cache[name]


@contextmanager
def fresh_database(admin: str, options: str = "") -> Iterator[str]:
    """A DSN to a new, empty database (created with `options`) on the server of `admin`,
    dropped afterwards."""
    name = f"beacon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}" {options}')
    try:
        yield with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(params=SERVERS)
def warehouse_dsn(request: pytest.FixtureRequest, server_dsns: dict[str, str]) -> Iterator[str]:
    """A DSN to a fresh, empty database on one of the servers under test."""
    with fresh_database(_admin_dsn(request.param, request, server_dsns)) as dsn:
        yield dsn


@pytest.fixture(params=SERVERS)
def latin1_dsn(request: pytest.FixtureRequest, server_dsns: dict[str, str]) -> Iterator[str]:
    """The same, in the LATIN1 encoding: a warehouse that cannot store every character."""
    options = "encoding 'LATIN1' lc_collate 'C' lc_ctype 'C' template template0"
    with fresh_database(_admin_dsn(request.param, request, server_dsns), options) as dsn:
        yield dsn


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "warehouse_dsn" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def server_of(nodeid: str) -> str | None:
    """The server a test runs on, from its parameter ids (`test_x[embedded-raw.events]`)."""
    ids = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
    return next((part for part in ids.split("-") if part in SERVERS), None)


class OneWorkerPerServer(LoadScopeScheduling):
    """`pytest -n 2` (make test): every test of a server goes to the same worker, so the
    package- and module-scoped warehouses (tests/dbt) are built once per server, not once per
    worker; other tests are handed out one by one."""

    def _split_scope(self, nodeid: str) -> str:
        return server_of(nodeid) or nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> OneWorkerPerServer:
    return OneWorkerPerServer(config, log)
