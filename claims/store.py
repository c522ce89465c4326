"""The only module that touches SQLite: schema, migrations, and every read and write of the claim store.

One connection per store, shared by threads and guarded by one re-entrant lock, so every statement and
every transaction is serialised (writes are tiny next to the model inference that precedes them).
`Store.transaction()` groups a state change and its events into one commit; nested calls join the outer
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
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from claims.models import CLAIM_STATUSES, FINAL_STATUSES, Event, Order, StoredPhoto, utcnow
from vision_models.labels import DAMAGE_LABELS

BUSY_TIMEOUT_MS = 10_000


def iso(moment: datetime | None) -> str | None:
    """A sortable UTC timestamp string (naive datetimes are taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _capture_time(moment: datetime | None) -> str | None:
    """A camera's capture time: UTC when its zone is known, else the naive local time as recorded."""
    if moment is None or moment.tzinfo is not None:
        return iso(moment)
    return moment.isoformat(timespec="seconds")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --- schema ------------------------------------------------------------------------------------------
# One list of migrations, applied in order; `PRAGMA user_version` records how many have run.
# Never edit a released migration: append a new one.

_MIGRATION_1 = f"""
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE orders (
    order_id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    customer_name TEXT NOT NULL DEFAULT '',
    item_name TEXT NOT NULL,
    sku TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    value REAL NOT NULL CHECK (value >= 0),
    currency TEXT NOT NULL DEFAULT 'EUR',
    ordered_at TEXT,
    delivered_at TEXT,
    in_stock INTEGER NOT NULL DEFAULT 1,
    stock_count INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'import',
    updated_at TEXT NOT NULL
);
CREATE TABLE claims (
    claim_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,            -- not a foreign key: claims on unknown orders go to a person
    email TEXT NOT NULL,
    description TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({_in(CLAIM_STATUSES)})),
    resolution TEXT CHECK (resolution IN ('refund', 'replacement')),
    priority TEXT CHECK (priority IN ('high', 'normal')),
    reasons TEXT NOT NULL DEFAULT '[]',
    message TEXT NOT NULL DEFAULT '',
    label TEXT,
    complaint TEXT NOT NULL DEFAULT '{{}}',
    fraud_signals TEXT NOT NULL DEFAULT '[]',
    model_versions TEXT NOT NULL DEFAULT '{{}}',
    human_requested INTEGER NOT NULL DEFAULT 0,
    reviewed INTEGER NOT NULL DEFAULT 0,
    sla_due_at TEXT,
    decided_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX claims_by_email ON claims (email, created_at);
CREATE INDEX claims_by_order ON claims (order_id);
CREATE INDEX claims_by_status ON claims (status, priority, sla_due_at);
CREATE INDEX claims_by_created ON claims (created_at);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    ext TEXT NOT NULL,
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    phash TEXT NOT NULL,
    exif_taken_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE claim_photos (
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    position INTEGER NOT NULL,
    original_name TEXT NOT NULL DEFAULT '',
    prediction TEXT,
    quality TEXT,
    corrected_label TEXT CHECK (corrected_label IN ({_in(DAMAGE_LABELS)})),
    added_at TEXT NOT NULL,
    PRIMARY KEY (claim_id, sha256)
);
CREATE INDEX claim_photos_by_sha ON claim_photos (sha256);

-- The conversation the customer sees. `author` names a reviewer for the audit and is never shown.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL CHECK (actor IN ('customer', 'bot', 'reviewer')),
    kind TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    photos TEXT NOT NULL DEFAULT '[]',
    author TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_by_claim ON messages (claim_id, id);

-- The audit trail: append-only (the triggers below refuse updates and deletes).
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT REFERENCES claims (claim_id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    reasons TEXT NOT NULL DEFAULT '[]',
    detail TEXT NOT NULL DEFAULT '{{}}',
    model_versions TEXT NOT NULL DEFAULT '{{}}'
);
CREATE INDEX events_by_claim ON events (claim_id, id);
CREATE INDEX events_by_kind ON events (kind, at);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    reviewer TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('approve_refund', 'approve_replacement', 'deny', 'request_info')),
    note TEXT NOT NULL DEFAULT '',
    previous_status TEXT NOT NULL,
    new_status TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX reviews_by_claim ON reviews (claim_id);
CREATE TABLE review_locks (
    claim_id TEXT PRIMARY KEY REFERENCES claims (claim_id),
    reviewer TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    until TEXT NOT NULL
);
CREATE TABLE labelled_examples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    sha256 TEXT NOT NULL REFERENCES photos (sha256),
    label TEXT NOT NULL CHECK (label IN ({_in(DAMAGE_LABELS)})),
    predicted_label TEXT,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    UNIQUE (claim_id, sha256)
);

CREATE TABLE reviewers (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('settings', 'generated')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    at TEXT NOT NULL,
    success INTEGER NOT NULL,
    blocked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_attempts_by_name ON login_attempts (name, at);

-- The token is kept here (and only here) so a retried submission gets the same answer; rows expire.
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    access_token TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Workflows, outbox and ledger: created here, driven by claims.workflows.
CREATE TABLE workflows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'replacement')),
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX workflows_by_claim ON workflows (claim_id);
CREATE INDEX workflows_by_state ON workflows (state);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflows (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE TABLE ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    amount REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT 'EUR',
    detail TEXT NOT NULL DEFAULT '{{}}',
    created_at TEXT NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_MIGRATION_1,)
SCHEMA_VERSION = len(MIGRATIONS)

_JSON_COLUMNS = {
    "reasons", "complaint", "fraud_signals", "model_versions", "prediction", "quality", "photos", "detail",
    "payload",
}


def _decode(row: dict | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


class SchemaTooNew(RuntimeError):
    """The database was written by a newer claimbot than this one."""


class Store:
    """The claim store. Open with `Store.open(path)` (":memory:" for tests); close with `close()`."""

    def __init__(self, path: str | Path = ":memory:", *, seed_demo: bool = True):
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
        if seed_demo:
            self.seed_demo_orders()

    @classmethod
    def open(cls, path: str | Path = ":memory:", *, seed_demo: bool = True) -> "Store":
        return cls(path, seed_demo=seed_demo)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- transactions ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
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
            return [_decode(row) for row in self.db.query(sql, params)]

    def _query_in(self, sql: str, values: Iterable) -> list[dict]:
        """`sql` with one `{marks}` for the IN-list of `values` (its only parameters); no values, no rows."""
        values = list(values)
        if not values:
            return []
        return self._query(sql.format(marks=", ".join("?" * len(values))), values)

    def _one(self, sql: str, params: Iterable | dict = ()) -> dict | None:
        rows = self._query(sql, params)
        return rows[0] if rows else None

    def _scalar(self, sql: str, params: Iterable | dict = ()):
        with self._lock:
            row = self.conn.execute(sql, tuple(params) if not isinstance(params, dict) else params).fetchone()
        return row[0] if row else None

    def _insert(self, table: str, row: dict) -> int:
        with self.transaction():
            return self.db[table].insert(row).last_rowid

    def _update(self, table: str, where: str, params: dict, values: dict) -> int:
        sets = ", ".join(f"[{k}] = :_v_{k}" for k in values)
        bound = dict(params)
        for key, value in values.items():
            bound[f"_v_{key}"] = _dumps(value) if isinstance(value, (list, tuple, dict)) else value
        with self.transaction():
            return self.conn.execute(f"UPDATE [{table}] SET {sets} WHERE {where}", bound).rowcount

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
                    self.db.executescript(MIGRATIONS[version - 1])
                    self.conn.execute(f"PRAGMA user_version = {version}")

    def get_meta(self, key: str) -> str | None:
        return self._scalar("SELECT value FROM meta WHERE key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    # --- orders ----------------------------------------------------------------------------------

    @staticmethod
    def _order_row(order: Order, source: str) -> dict:
        row = order.model_dump()
        row["ordered_at"] = iso(order.ordered_at)
        row["delivered_at"] = iso(order.delivered_at)
        row["in_stock"] = int(order.in_stock)
        row["source"] = source
        row["updated_at"] = iso(utcnow())
        return row

    def upsert_orders(self, orders: Iterable[Order], *, source: str = "import") -> int:
        rows = [self._order_row(order, source) for order in orders]
        with self.transaction():
            self.db["orders"].upsert_all(rows, pk="order_id")
        return len(rows)

    def get_order(self, order_id: str) -> Order | None:
        row = self._one("SELECT * FROM orders WHERE order_id = ?", [order_id])
        if row is None:
            return None
        row.pop("source")
        row.pop("updated_at")
        row["in_stock"] = bool(row["in_stock"])
        return Order(**row)

    def count_orders(self) -> int:
        return int(self._scalar("SELECT count(*) FROM orders"))

    def seed_demo_orders(self, now: datetime | None = None, *, force: bool = False) -> int:
        """Insert the demo orders once per database (or again with force, refreshing their dates)."""
        from claims.demo_orders import demo_orders

        with self.transaction():
            if self.get_meta("demo_seeded_at") and not force:
                return 0
            count = self.upsert_orders(demo_orders(now), source="demo")
            self.set_meta("demo_seeded_at", iso(now or utcnow()))
        return count

    # --- claims ----------------------------------------------------------------------------------

    def insert_claim(self, row: dict) -> None:
        row = {k: (_dumps(v) if isinstance(v, (list, tuple, dict)) else v) for k, v in row.items()}
        self._insert("claims", row)

    def get_claim(self, claim_id: str) -> dict | None:
        return self._one("SELECT * FROM claims WHERE claim_id = ?", [claim_id])

    def update_claim(self, claim_id: str, **values) -> None:
        values.setdefault("updated_at", iso(utcnow()))
        if self._update("claims", "claim_id = :claim_id", {"claim_id": claim_id}, values) != 1:
            raise KeyError(claim_id)

    def count_claims_by_email(self, email: str, since: datetime, *, exclude: str | None = None) -> int:
        return int(self._scalar(
            "SELECT count(*) FROM claims WHERE email = ? AND created_at >= ? AND claim_id != ?",
            [email, iso(since), exclude or ""],
        ))

    def claims_on_order(self, order_id: str, *, exclude: str | None = None) -> list[dict]:
        return self._query(
            "SELECT claim_id, status, created_at FROM claims WHERE order_id = ? AND claim_id != ? "
            "ORDER BY created_at",
            [order_id, exclude or ""],
        )

    def claims_with_status(self, statuses: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT * FROM claims WHERE status IN ({marks})", statuses)

    def claims_created_between(self, since: datetime, until: datetime) -> list[dict]:
        return self._query(
            "SELECT * FROM claims WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
            [iso(since), iso(until)],
        )

    # --- photos ----------------------------------------------------------------------------------

    def add_photo(self, photo: StoredPhoto, *, ext: str) -> None:
        """Record a stored photo file; a photo seen before keeps its first row."""
        row = {
            "sha256": photo.sha256, "ext": ext, "mime": photo.mime, "width": photo.width,
            "height": photo.height, "size_bytes": photo.size_bytes, "phash": photo.phash,
            "exif_taken_at": _capture_time(photo.exif_taken_at), "created_at": iso(utcnow()),
        }
        with self.transaction():
            self.db["photos"].insert(row, pk="sha256", ignore=True)

    def get_photo(self, sha256: str) -> dict | None:
        return self._one("SELECT * FROM photos WHERE sha256 = ?", [sha256])

    def link_photo(
        self, claim_id: str, sha256: str, *, position: int, original_name: str = "",
        prediction: dict | None = None, quality: dict | None = None,
    ) -> bool:
        """Attach a photo to a claim; False if the claim already holds it."""
        row = {
            "claim_id": claim_id, "sha256": sha256, "position": position, "original_name": original_name,
            "prediction": _dumps(prediction) if prediction is not None else None,
            "quality": _dumps(quality) if quality is not None else None,
            "added_at": iso(utcnow()),
        }
        with self.transaction():
            before = self.conn.total_changes
            self.db["claim_photos"].insert(row, pk=("claim_id", "sha256"), ignore=True)
            return self.conn.total_changes > before

    def claim_photos(self, claim_id: str) -> list[dict]:
        """The claim's photos in the order they were sent, joined with their file facts."""
        return self._query(
            "SELECT cp.*, p.ext, p.mime, p.width, p.height, p.size_bytes, p.phash, p.exif_taken_at "
            "FROM claim_photos cp JOIN photos p USING (sha256) WHERE cp.claim_id = ? ORDER BY cp.position",
            [claim_id],
        )

    def photos_of_other_claims(self, claim_id: str) -> list[tuple[str, str, str]]:
        """(claim_id, sha256, phash) of every photo attached to any other claim."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT cp.claim_id, p.sha256, p.phash FROM claim_photos cp JOIN photos p USING (sha256) "
                "WHERE cp.claim_id != ?",
                [claim_id],
            ).fetchall()
        return [tuple(r) for r in rows]

    def photo_confidences(self, claim_ids: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT claim_id, prediction FROM claim_photos WHERE claim_id IN ({marks})", claim_ids)

    def set_corrected_label(self, claim_id: str, sha256: str, label: str) -> None:
        self._update(
            "claim_photos", "claim_id = :c AND sha256 = :s", {"c": claim_id, "s": sha256},
            {"corrected_label": label},
        )

    def add_labelled_example(
        self, *, claim_id: str, sha256: str, label: str, predicted_label: str | None, reviewer: str
    ) -> None:
        row = {
            "claim_id": claim_id, "sha256": sha256, "label": label, "predicted_label": predicted_label,
            "reviewer": reviewer, "at": iso(utcnow()),
        }
        with self.transaction():
            self.conn.execute(
                "INSERT INTO labelled_examples (claim_id, sha256, label, predicted_label, reviewer, at) "
                "VALUES (:claim_id, :sha256, :label, :predicted_label, :reviewer, :at) "
                "ON CONFLICT (claim_id, sha256) DO UPDATE SET label = excluded.label, "
                "reviewer = excluded.reviewer, at = excluded.at",
                row,
            )

    def labelled_examples(self) -> list[dict]:
        """Reviewer-corrected labels joined with the photo file facts (for vision_models.train)."""
        return self._query(
            "SELECT le.*, p.ext FROM labelled_examples le JOIN photos p USING (sha256) ORDER BY le.id"
        )

    # --- thread and audit trail ------------------------------------------------------------------

    def add_message(
        self, claim_id: str, *, actor: str, kind: str, text: str = "", photos: Iterable[str] = (),
        author: str = "", at: datetime | None = None,
    ) -> int:
        return self._insert("messages", {
            "claim_id": claim_id, "at": iso(at or utcnow()), "actor": actor, "kind": kind, "text": text,
            "photos": _dumps(list(photos)), "author": author,
        })

    def messages(self, claim_id: str) -> list[dict]:
        return self._query("SELECT * FROM messages WHERE claim_id = ? ORDER BY id", [claim_id])

    def add_event(self, event: Event) -> int:
        return self._insert("events", {
            "claim_id": event.claim_id or None, "at": iso(event.at), "actor": event.actor, "kind": event.kind,
            "status": event.status, "reasons": _dumps(list(event.reasons)), "detail": _dumps(event.detail),
            "model_versions": _dumps(event.model_versions),
        })

    def log_event(self, claim_id: str | None, actor: str, kind: str, **fields) -> int:
        """Shorthand for add_event; claim_id None for events that concern no claim (logins)."""
        return self.add_event(Event(claim_id=claim_id or "", actor=actor, kind=kind, **fields))

    def events(self, claim_id: str | None = None, *, kind: str | None = None) -> list[dict]:
        where, params = [], []
        if claim_id is not None:
            where.append("claim_id = ?")
            params.append(claim_id)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._query(f"SELECT * FROM events {clause} ORDER BY id", params)

    # --- review ----------------------------------------------------------------------------------

    def add_review(
        self, claim_id: str, *, reviewer: str, action: str, note: str, previous_status: str, new_status: str
    ) -> int:
        return self._insert("reviews", {
            "claim_id": claim_id, "reviewer": reviewer, "action": action, "note": note,
            "previous_status": previous_status, "new_status": new_status, "at": iso(utcnow()),
        })

    def reviews(self, claim_id: str) -> list[dict]:
        return self._query("SELECT * FROM reviews WHERE claim_id = ? ORDER BY id", [claim_id])

    def get_lock(self, claim_id: str) -> dict | None:
        return self._one("SELECT * FROM review_locks WHERE claim_id = ?", [claim_id])

    def locks(self) -> dict[str, dict]:
        return {row["claim_id"]: row for row in self._query("SELECT * FROM review_locks")}

    def set_lock(self, claim_id: str, reviewer: str, until: datetime) -> None:
        with self.transaction():
            self.db["review_locks"].upsert(
                {"claim_id": claim_id, "reviewer": reviewer, "acquired_at": iso(utcnow()), "until": iso(until)},
                pk="claim_id",
            )

    def release_lock(self, claim_id: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM review_locks WHERE claim_id = ?", [claim_id])

    # --- reviewer accounts -----------------------------------------------------------------------

    def get_reviewer(self, name: str) -> dict | None:
        return self._one("SELECT * FROM reviewers WHERE name = ?", [name])

    def reviewers(self) -> list[dict]:
        return self._query("SELECT * FROM reviewers ORDER BY name")

    def upsert_reviewer(self, name: str, *, password_hash: str, source: str, active: bool = True) -> None:
        now = iso(utcnow())
        with self.transaction():
            existing = self.get_reviewer(name)
            row = {
                "name": name, "password_hash": password_hash, "source": source, "active": int(active),
                "created_at": existing["created_at"] if existing else now, "updated_at": now,
            }
            self.db["reviewers"].upsert(row, pk="name")

    def set_reviewer_active(self, name: str, active: bool) -> None:
        self._update("reviewers", "name = :n", {"n": name}, {"active": int(active), "updated_at": iso(utcnow())})

    def add_login_attempt(self, name: str, *, success: bool, blocked: bool = False) -> None:
        self._insert("login_attempts", {
            "name": name, "at": iso(utcnow()), "success": int(success), "blocked": int(blocked),
        })

    def count_login_failures(self, name: str, since: datetime) -> int:
        """Failures since the later of `since` and the last success (a success clears the count)."""
        last_ok = self._scalar("SELECT max(id) FROM login_attempts WHERE name = ? AND success = 1", [name])
        return int(self._scalar(
            "SELECT count(*) FROM login_attempts WHERE name = ? AND success = 0 AND at >= ? AND id > ?",
            [name, iso(since), last_ok or 0],
        ))

    # --- idempotency -----------------------------------------------------------------------------

    def get_idempotency(self, key: str) -> dict | None:
        return self._one("SELECT * FROM idempotency_keys WHERE key = ?", [key])

    def put_idempotency(self, key: str, *, fingerprint: str, claim_id: str, access_token: str) -> None:
        self._insert("idempotency_keys", {
            "key": key, "fingerprint": fingerprint, "claim_id": claim_id, "access_token": access_token,
            "created_at": iso(utcnow()),
        })

    def purge_idempotency(self, before: datetime) -> int:
        with self.transaction():
            return self.conn.execute("DELETE FROM idempotency_keys WHERE created_at < ?", [iso(before)]).rowcount

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

    # =============================================================================================
    # WORKFLOWS SECTION: outbox, ledger and workflow state, extended by the workflows work
    # (claims/workflows.py). The tables `workflows`, `outbox` and `ledger` are created in
    # migration 1 above. Add methods below this line.
    # =============================================================================================

    def workflows_for_claims(self, claim_ids: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT * FROM workflows WHERE claim_id IN ({marks}) ORDER BY id", claim_ids)

    def create_workflow(self, claim_id: str, kind: str, *, state: str, now: datetime) -> int:
        return self._insert("workflows", {
            "claim_id": claim_id, "kind": kind, "state": state, "reason": "",
            "created_at": iso(now), "updated_at": iso(now),
        })

    def get_workflow(self, workflow_id: int) -> dict | None:
        return self._one("SELECT * FROM workflows WHERE id = ?", [workflow_id])

    def workflows_in_state(self, states: Iterable[str]) -> list[dict]:
        return self._query_in("SELECT * FROM workflows WHERE state IN ({marks}) ORDER BY id", states)

    def move_workflow(self, workflow_id: int, *, from_state: str, to_state: str, reason: str, now: datetime) -> bool:
        """Compare-and-set of a workflow's state: False (and no change) unless it is still in `from_state`."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE workflows SET state = ?, reason = ?, updated_at = ? WHERE id = ? AND state = ?",
                [to_state, reason, iso(now), workflow_id, from_state],
            ).rowcount == 1

    def take_one_from_stock(self, order_id: str) -> bool:
        """Decrement a counted stock by one (marking the item out of stock at zero); False if none is left."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE orders SET stock_count = stock_count - 1, in_stock = (stock_count > 1), updated_at = ? "
                "WHERE order_id = ? AND in_stock = 1 AND stock_count > 0",
                [iso(utcnow()), order_id],
            ).rowcount == 1

    def enqueue_outbox(self, workflow_id: int, *, idempotency_key: str, payload: dict, now: datetime) -> bool:
        """Add an outgoing message; False if one with this key already exists (a repeat is a no-op)."""
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO outbox (workflow_id, idempotency_key, payload, state, attempts, next_attempt_at, "
                "created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                [workflow_id, idempotency_key, _dumps(payload), iso(now), iso(now)],
            ).rowcount == 1

    def outbox_rows(self, *, state: str | None = None) -> list[dict]:
        if state is None:
            return self._query("SELECT * FROM outbox ORDER BY id")
        return self._query("SELECT * FROM outbox WHERE state = ? ORDER BY id", [state])

    def get_outbox(self, outbox_id: int) -> dict | None:
        return self._one("SELECT * FROM outbox WHERE id = ?", [outbox_id])

    def get_outbox_by_key(self, idempotency_key: str) -> dict | None:
        return self._one("SELECT * FROM outbox WHERE idempotency_key = ?", [idempotency_key])

    def due_outbox(self, now: datetime, *, limit: int = 50) -> list[dict]:
        return self._query(
            "SELECT * FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id "
            "LIMIT ?",
            [iso(now), limit],
        )

    def next_outbox_due_at(self) -> datetime | None:
        return parse_time(self._scalar("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'"))

    def lease_outbox(self, outbox_id: int, *, now: datetime, until: datetime) -> bool:
        """Take a due pending message for one delivery attempt (counted now, so a crash still counts it).

        Compare-and-set: of two dispatchers racing for one row, one wins; the lease lapses at `until` if the
        winner dies mid-delivery, and the message is then tried again under the same idempotency key."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? "
                "WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?",
                [iso(until), outbox_id, iso(now)],
            ).rowcount == 1

    def finish_outbox(self, outbox_id: int, *, state: str, now: datetime, error: str = "") -> bool:
        """Mark a pending message delivered or dead (keeping the last error for the record); False if it is
        no longer pending."""
        delivered_at = iso(now) if state == "delivered" else None
        with self.transaction():
            return self.conn.execute(
                "UPDATE outbox SET state = ?, delivered_at = ?, last_error = coalesce(nullif(?, ''), last_error) "
                "WHERE id = ? AND state = 'pending'",
                [state, delivered_at, error, outbox_id],
            ).rowcount == 1

    def retry_outbox_later(self, outbox_id: int, *, at: datetime, error: str) -> None:
        self._update(
            "outbox", "id = :id AND state = 'pending'", {"id": outbox_id},
            {"next_attempt_at": iso(at), "last_error": error},
        )

    def requeue_outbox(self, outbox_id: int, *, now: datetime) -> bool:
        """Put a dead message back in the queue with a fresh count of attempts (same idempotency key)."""
        with self.transaction():
            return self.conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? "
                "WHERE id = ? AND state = 'dead'",
                [iso(now), outbox_id],
            ).rowcount == 1

    def add_ledger_entry(
        self, *, idempotency_key: str, kind: str, claim_id: str, amount: float, currency: str, detail: dict,
        now: datetime,
    ) -> bool:
        """Record a refund issued or a replacement shipped; False if this key is already in the ledger."""
        with self.transaction():
            return self.conn.execute(
                "INSERT INTO ledger (idempotency_key, kind, claim_id, amount, currency, detail, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                [idempotency_key, kind, claim_id, amount, currency, _dumps(detail), iso(now)],
            ).rowcount == 1

    def ledger_entries(self, claim_id: str | None = None) -> list[dict]:
        if claim_id is None:
            return self._query("SELECT * FROM ledger ORDER BY id")
        return self._query("SELECT * FROM ledger WHERE claim_id = ? ORDER BY id", [claim_id])


__all__ = ["FINAL_STATUSES", "SCHEMA_VERSION", "SchemaTooNew", "Store", "iso", "parse_time"]
