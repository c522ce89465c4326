"""Reviewer accounts and login attempts (the lock-out count)."""

from __future__ import annotations

from datetime import datetime

from claims.models import utcnow
from claims.store._base import Database, iso


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

    def add_login_attempt(self, name: str, *, success: bool, blocked: bool = False) -> None:
        self._insert(
            "login_attempts", {"name": name, "at": iso(utcnow()), "success": int(success), "blocked": int(blocked)}
        )

    def count_login_failures(self, name: str, since: datetime) -> int:
        """Failures since the later of `since` and the last success (a success clears the count)."""
        last_ok = self._scalar("SELECT max(id) FROM login_attempts WHERE name = ? AND success = 1", [name])
        return int(
            self._scalar(
                "SELECT count(*) FROM login_attempts WHERE name = ? AND success = 0 AND at >= ? AND id > ?",
                [name, iso(since), last_ok or 0],
            )
        )
