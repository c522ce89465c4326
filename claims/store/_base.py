"""The connection, its lock, transactions and migrations: what every part of the store shares.

One connection per store, shared by threads and guarded by one re-entrant lock, so every statement and
every transaction is serialised (writes are tiny next to the model inference that precedes them).
`transaction()` opens with BEGIN IMMEDIATE, which takes SQLite's write lock up front: whatever a caller
reads inside it cannot change before it commits, in this process or any other. Nested calls join the outer
transaction through a savepoint. WAL mode lets a second process (`claimbot backup`, `import-orders`) read
and write while the server runs; the busy timeout makes it wait instead of failing.

Times are stored as ISO 8601 UTC strings with milliseconds, so string order is time order.
JSON columns hold lists and dicts; the accessors decode them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
_JSON_COLUMNS = {
    "reasons",
    "complaint",
    "fraud_signals",
    "model_versions",
    "prediction",
    "quality",
    "photos",
    "detail",
    "payload",
}


def iso(moment: datetime | None) -> str | None:
    """A sortable UTC timestamp string (naive datetimes are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


def _migrations() -> tuple[str, ...]:
    """The numbered SQL files in claims/store/migrations, in order."""
    folder = resources.files("claims.store") / "migrations"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    numbers = [int(f.name.split("_", 1)[0]) for f in files]
    if numbers != list(range(1, len(files) + 1)):
        raise RuntimeError(f"migration files must be numbered 0001, 0002, ... without gaps; found {numbers}")
    return tuple(f.read_text(encoding="utf-8") for f in files)


MIGRATIONS: tuple[str, ...] = _migrations()
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer claimbot than this one."""


class Database:
    """The shared connection. Open a store with `Store.open(path)` (":memory:" for tests)."""

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        self._lock = threading.RLock()
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transactions ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Everything inside commits together or not at all. Re-entrant (inner blocks use a savepoint)."""
        with self._lock:
            if self.conn.in_transaction:
                with self.db.atomic():
                    yield self
                return
            # IMMEDIATE takes the write lock up front, so another process makes us wait (busy timeout)
            # instead of failing half-way through when a read transaction would need upgrading.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")

    def _query(self, sql: str, params: Iterable | dict = ()) -> list[dict]:
        with self._lock:
            return [decode(row) for row in self.db.query(sql, params)]  # type: ignore[misc, arg-type]

    def _query_in(self, sql: str, values: Iterable) -> list[dict]:
        """`sql` with one `{marks}` for the IN-list of `values` (its only parameters); no values, no rows."""
        values = list(values)
        if not values:
            return []
        return self._query(sql.format(marks=", ".join("?" * len(values))), values)

    def _one(self, sql: str, params: Iterable | dict = ()) -> dict | None:
        rows = self._query(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Iterable | dict = ()) -> Any:
        with self._lock:
            row = self.conn.execute(sql, tuple(params) if not isinstance(params, dict) else params).fetchone()
        return row[0] if row else None

    def _execute(self, sql: str, params: Iterable | dict = ()) -> int:
        """One write statement in a transaction; returns the number of rows it changed."""
        with self.transaction():
            return self.conn.execute(sql, tuple(params) if not isinstance(params, dict) else params).rowcount

    def _insert(self, table: str, row: dict) -> int:
        with self.transaction():
            return int(self.db[table].insert(row).last_rowid)  # type: ignore[union-attr, arg-type]

    def _update(self, table: str, where: str, params: dict, values: dict) -> int:
        sets = ", ".join(f"[{k}] = :_v_{k}" for k in values)
        bound = dict(params)
        for key, value in values.items():
            bound[f"_v_{key}"] = dumps(value) if isinstance(value, (list, tuple, dict)) else value
        return self._execute(f"UPDATE [{table}] SET {sets} WHERE {where}", bound)

    # --- schema ----------------------------------------------------------------------------------

    def schema_version(self) -> int:
        return int(self._scalar("PRAGMA user_version"))

    def _migrate(self) -> None:
        with self._lock:
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema version {current}; this claimbot knows up to {SCHEMA_VERSION}"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                with self.transaction():
                    for statement in _statements(MIGRATIONS[version - 1]):
                        self.conn.execute(statement)
                    self.conn.execute(f"PRAGMA user_version = {version}")

    def get_meta(self, key: str) -> str | None:
        return self._scalar("SELECT value FROM meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db["meta"].upsert({"key": key, "value": value}, pk="key")  # type: ignore[union-attr]

    # --- maintenance -----------------------------------------------------------------------------

    def backup(self, target: str | Path) -> None:
        """Copy the database with SQLite's online backup API (consistent while the server writes)."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(str(target))
        try:
            with self._lock:
                self.conn.backup(dest)
        finally:
            dest.close()


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit the migration's transaction first)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current)
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current)
    return statements
