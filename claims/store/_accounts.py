"""Reviewer accounts and login attempts (what the login limits count).

An attempt row keeps the name only when an account has it; otherwise only `name_hash`, a keyed hash of what
was typed (it may be a mistyped password). Client IPs are kept only as `ip_hash`. The key is random, made
on first use and kept in `meta`, so the hashes correlate repeats within one database and nowhere else.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from claims.models import utcnow
from claims.store._base import Database, iso, parse_time

_LOGIN_HASH_KEY = "login_hash_key"


class AccountsTable(Database):
    def get_reviewer(self, name: str) -> dict | None:
        return self._one("SELECT * FROM reviewers WHERE name = ?", [name])

    def reviewers(self) -> list[dict]:
        return self._query("SELECT * FROM reviewers ORDER BY name")

    def upsert_reviewer(self, name: str, *, password_hash: str, source: str, active: bool = True) -> None:
        now = iso(utcnow())
        with self.transaction():
            existing = self.get_reviewer(name)
            row = {
                "name": name,
                "password_hash": password_hash,
                "source": source,
                "active": int(active),
                "created_at": existing["created_at"] if existing else now,
                "updated_at": now,
            }
            self.db["reviewers"].upsert(row, pk="name")  # type: ignore[union-attr]

    def set_reviewer_active(self, name: str, active: bool) -> None:
        self._update("reviewers", "name = :n", {"n": name}, {"active": int(active), "updated_at": iso(utcnow())})

    # --- login attempts ---------------------------------------------------------------------------

    def login_hash_key(self) -> bytes:
        """The database's key for hashing names and IPs in the login audit; created on first use."""
        stored = self.get_meta(_LOGIN_HASH_KEY)
        if stored is None:
            with self.transaction():  # INSERT OR IGNORE: two processes starting at once agree on one key
                self._execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [_LOGIN_HASH_KEY, secrets.token_hex(32)]
                )
                stored = self.get_meta(_LOGIN_HASH_KEY)
        return bytes.fromhex(stored or "")

    def add_login_attempt(
        self, *, name: str | None, name_hash: str, ip_hash: str | None, at: datetime, blocked: bool = False
    ) -> int:
        """Record an attempt as a failure (or as refused, when `blocked`); `login_succeeded` turns it into a
        success. Recorded before the password check, so concurrent guesses count at once."""
        return self._insert(
            "login_attempts",
            {
                "at": iso(at),
                "name": name,
                "name_hash": name_hash,
                "ip_hash": ip_hash,
                "success": 0,
                "blocked": int(blocked),
            },
        )

    def login_succeeded(self, attempt_id: int) -> None:
        self._execute("UPDATE login_attempts SET success = 1 WHERE id = ? AND blocked = 0", [attempt_id])

    def login_failures(
        self, since: datetime, *, name_hash: str | None = None, ip_hash: str | None = None
    ) -> tuple[int, datetime | None]:
        """(count, time of the latest) of the failures since `since` matching the given hashes; refused
        attempts are not failures. With a `name_hash`, only failures after that name's last success count."""
        where = ["success = 0", "blocked = 0", "at >= ?"]
        params: list[object] = [iso(since)]
        if name_hash is not None:
            where.append("name_hash = ?")
            params.append(name_hash)
            last_ok = self._scalar(
                "SELECT max(id) FROM login_attempts WHERE name_hash = ? AND at >= ? AND success = 1",
                [name_hash, iso(since)],
            )
            where.append("id > ?")
            params.append(last_ok or 0)
        if ip_hash is not None:
            where.append("ip_hash = ?")
            params.append(ip_hash)
        row = self._one(
            f"SELECT count(*) AS n, max(at) AS latest FROM login_attempts WHERE {' AND '.join(where)}", params
        )
        return (int(row["n"]), parse_time(row["latest"])) if row else (0, None)

    def login_refusal_recorded(
        self, since: datetime, *, name_hash: str | None = None, ip_hash: str | None = None
    ) -> bool:
        """Whether a refused attempt matching the given hashes was recorded after `since`."""
        where = ["blocked = 1", "at > ?"]
        params: list[object] = [iso(since)]
        for column, value in (("name_hash", name_hash), ("ip_hash", ip_hash)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        return bool(self._scalar(f"SELECT 1 FROM login_attempts WHERE {' AND '.join(where)} LIMIT 1", params))

    def login_succeeded_before(self, name_hash: str, ip_hash: str, since: datetime) -> bool:
        """Whether the name signed in successfully from this IP since `since`."""
        return bool(
            self._scalar(
                "SELECT 1 FROM login_attempts WHERE name_hash = ? AND ip_hash = ? AND success = 1 AND at >= ? LIMIT 1",
                [name_hash, ip_hash, iso(since)],
            )
        )
