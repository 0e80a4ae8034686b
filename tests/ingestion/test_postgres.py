from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import psutil
import psycopg
import pytest

from ingestion.errors import BeaconError
from ingestion.postgres import (
    EmbeddedServer,
    connect,
    redact,
    shared_buffers_mb,
    wal_buffers_mb,
)
from tests.conftest import free_port


def shared_buffers_in_mb(conn: psycopg.Connection) -> int:
    blocks, block_size = conn.execute(
        "select setting::bigint, current_setting('block_size')::bigint"
        " from pg_settings where name = 'shared_buffers'"
    ).fetchone()
    return blocks * block_size // 2**20


@pytest.mark.parametrize(
    ("memory_gb", "expected_mb"), [(0.25, 128), (2, 512), (24, 6144), (64, 8192)]
)
def test_shared_buffers_are_a_quarter_of_memory_within_bounds(
    memory_gb: float, expected_mb: int
) -> None:
    assert shared_buffers_mb(int(memory_gb * 2**30)) == expected_mb


@pytest.mark.parametrize(("shared_mb", "expected_mb"), [(128, 16), (2048, 128), (6144, 256)])
def test_wal_buffers_are_a_sixteenth_of_shared_buffers_within_bounds(
    shared_mb: int, expected_mb: int
) -> None:
    assert wal_buffers_mb(shared_mb) == expected_mb


def test_embedded_server_starts_reuses_and_stops(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "home", free_port())
    dsn = server.start()
    try:
        pid = (server.data_dir / "postmaster.pid").read_text().split()[0]
        assert server.start() == dsn  # a second start reuses the running server
        assert (server.data_dir / "postmaster.pid").read_text().split()[0] == pid
        with psycopg.connect(dsn) as conn:
            version = conn.execute("show server_version_num").fetchone()[0]
            assert int(version) >= 180000
            assert conn.execute("select current_database()").fetchone()[0] == "beacon"
            # the tuned settings are in force (beacon.conf, rewritten at each start)
            assert conn.execute("show wal_level").fetchone()[0] == "minimal"
            assert shared_buffers_in_mb(conn) == shared_buffers_mb(psutil.virtual_memory().total)
            wal_mb = wal_buffers_mb(shared_buffers_mb(psutil.virtual_memory().total))
            assert conn.execute("show wal_buffers").fetchone()[0] == f"{wal_mb}MB"
            assert conn.execute("show wal_compression").fetchone()[0] == "off"
            assert conn.execute("show deadlock_timeout").fetchone()[0] == "100ms"
            # initdb without checksums: reading fresh pages would otherwise log them whole
            assert conn.execute("show data_checksums").fetchone()[0] == "off"
        # psql accepts the same DSN
        out = subprocess.run(
            ["psql", dsn, "-tAc", "select 41 + 1"], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "42"
    finally:
        assert server.stop() is True
    assert server.is_running() is False
    assert server.stop() is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = EmbeddedServer(tmp_path / "home", busy.getsockname()[1])
        with pytest.raises(BeaconError, match=r"port \d+ is in use"):
            server.start()


def test_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    server = EmbeddedServer(blocker / "home", free_port())
    with pytest.raises(BeaconError, match="is not writable"):
        server.start()


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://bob:s3cret@db:5432/w") == "postgresql://bob:***@db:5432/w"
    assert redact("postgresql://bob@db/w") == "postgresql://bob@db/w"


def test_connections_speak_utf8_to_a_latin1_database(latin1_dsn: str) -> None:
    """A character LATIN1 cannot store is refused (a DataError the loader quarantines)."""
    with connect(latin1_dsn) as conn:
        assert conn.execute("show client_encoding").fetchone()[0] == "UTF8"
        assert conn.execute("select 'café'").fetchone()[0] == "café"
        with pytest.raises(psycopg.errors.UntranslatableCharacter):
            conn.execute("select '漢字'::text")


def test_settings_of_an_older_data_directory_are_replaced(tmp_path: Path) -> None:
    """Data directories from before beacon.conf carry the settings in postgresql.auto.conf,
    which PostgreSQL reads last: the next start takes that block out."""
    server = EmbeddedServer(tmp_path / "home", free_port())
    server.start()
    server.stop()
    auto_conf = server.data_dir / "postgresql.auto.conf"
    auto_conf.write_text(
        auto_conf.read_text()
        + "# Beacon's embedded-server settings (ingestion/postgres.py)\n"
        + "shared_buffers = '128MB'\nwork_mem = '4MB'\n"
    )
    dsn = server.start()
    try:
        with psycopg.connect(dsn) as conn:
            assert shared_buffers_in_mb(conn) == shared_buffers_mb(psutil.virtual_memory().total)
            assert conn.execute("show work_mem").fetchone()[0] == "64MB"
        assert "Beacon" not in auto_conf.read_text()
    finally:
        server.stop()
