"""The audit trail (append-only: triggers in the schema refuse updates and deletes) and review locks."""

from __future__ import annotations

from datetime import datetime

from claims.models import Event, utcnow
from claims.store._base import Database, dumps, iso


class AuditTable(Database):
    def add_event(self, event: Event) -> int:
        return self._insert(
            "events",
            {
                "claim_id": event.claim_id or None,
                "at": iso(event.at),
                "actor": event.actor,
                "kind": event.kind,
                "status": event.status,
                "reasons": dumps(list(event.reasons)),
                "detail": dumps(event.detail),
                "model_versions": dumps(event.model_versions),
            },
        )

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

    # --- review locks: one reviewer works a case at a time -------------------------------------

    def get_lock(self, claim_id: str) -> dict | None:
        return self._one("SELECT * FROM review_locks WHERE claim_id = ?", [claim_id])

    def locks(self) -> dict[str, dict]:
        return {row["claim_id"]: row for row in self._query("SELECT * FROM review_locks")}

    def set_lock(self, claim_id: str, reviewer: str, until: datetime) -> None:
        with self.transaction():
            self.db["review_locks"].upsert(  # type: ignore[union-attr]
                {"claim_id": claim_id, "reviewer": reviewer, "acquired_at": iso(utcnow()), "until": iso(until)},
                pk="claim_id",
            )

    def release_lock(self, claim_id: str) -> None:
        self._execute("DELETE FROM review_locks WHERE claim_id = ?", [claim_id])
