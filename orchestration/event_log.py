"""The local Dagster instance's event log: Dagster's SQLite one, keeping its connections open.

Dagster's SqliteEventLogStorage creates an engine, connects, and disposes of it for every event
it stores; a dbt build stores some hundreds of events (materializations, check results, logs),
and those connects and closes were ~2.5 s of each build's fixed overhead. This keeps one open
connection for each of the last few shards (the index and the runs being written).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

KEPT_SHARDS = 4  # the index shard and a few runs; older runs' engines are disposed of


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """One connection per shard, kept open. Dagster's lock already serializes every use of a
    shard's connection, so it may move between threads."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # the parent's init connects
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > KEPT_SHARDS:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the run shards' files are deleted
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
