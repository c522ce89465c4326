"""Claims and what belongs to one: its photos, its thread, reviewer labels, idempotency records.

A claim's status changes only through `change_status`, a compare-and-set on the claim's version that also
checks the move against `claims.lifecycle`; nothing else writes the status column.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from claims import lifecycle
from claims.models import ClaimRecord, StoredPhoto, utcnow
from claims.store._base import Database, dumps, iso


class StaleClaim(RuntimeError):
    """The claim changed since the caller read it; re-read and decide again."""


def _capture_time(moment: datetime | None) -> str | None:
    """A camera's capture time: UTC when its zone is known, else the naive local time as recorded."""
    if moment is None or moment.tzinfo is not None:
        return iso(moment)
    return moment.isoformat(timespec="seconds")


# Names of the per-database keys in `meta` (created on first use, never leave the database).
_CLIENT_KEY = "intake_client_key"
_IDEMPOTENCY_KEY = "idempotency_token_key"


def _encoded(values: dict) -> dict:
    return {k: (dumps(v) if isinstance(v, (list, tuple, dict)) else v) for k, v in values.items()}


class ClaimsTable(Database):
    # --- the claim row ---------------------------------------------------------------------------

    def insert_claim(self, row: dict, *, actor: str = "system") -> None:
        """A new claim; its first status must be one the lifecycle allows from NEW for `actor`."""
        lifecycle.check(lifecycle.NEW, row["status"], actor)
        self._insert("claims", _encoded({**row, "version": 1, "status_actor": actor}))

    def get_claim(self, claim_id: str) -> ClaimRecord | None:
        row = self._one("SELECT * FROM claims WHERE claim_id = ?", [claim_id])
        return _record(row) if row else None

    def update_claim(self, claim_id: str, **values) -> None:
        """Change fields other than the status (see `change_status`)."""
        if {"status", "version", "status_actor"} & values.keys():
            raise ValueError("a claim's status changes only through change_status")
        values.setdefault("updated_at", iso(utcnow()))
        if self._update("claims", "claim_id = :claim_id", {"claim_id": claim_id}, values) != 1:
            raise KeyError(claim_id)

    def change_status(self, claim_id: str, status: str, *, actor: str, expected_version: int, **values) -> ClaimRecord:
        """Move the claim to `status` if it is still at `expected_version` and the lifecycle lets `actor`
        ("customer", "system", "reviewer") make the move; bumps the version. Raises StaleClaim or
        lifecycle.IllegalTransition and changes nothing otherwise. Returns the updated record."""
        with self.transaction():
            current = self.get_claim(claim_id)
            if current is None:
                raise KeyError(claim_id)
            if current.version != expected_version:
                raise StaleClaim(f"{claim_id} is at version {current.version}, not {expected_version}")
            lifecycle.check(current.status, status, actor)
            values = {**values, "status": status, "status_actor": actor, "version": expected_version + 1}
            values.setdefault("updated_at", iso(utcnow()))
            changed = self._update(
                "claims",
                "claim_id = :claim_id AND version = :expected",
                {"claim_id": claim_id, "expected": expected_version},
                values,
            )
            if changed != 1:
                raise StaleClaim(claim_id)
            return self.get_claim(claim_id)  # type: ignore[return-value]

    def count_claims_by_email(self, email: str, since: datetime, *, exclude: str | None = None) -> int:
        return int(
            self._scalar(
                "SELECT count(*) FROM claims WHERE email = ? AND created_at >= ? AND claim_id != ?",
                [email, iso(since), exclude or ""],
            )
        )

    def claims_on_order(self, order_id: str, *, exclude: str | None = None) -> list[dict]:
        return self._query(
            "SELECT claim_id, status, created_at FROM claims WHERE order_id = ? AND claim_id != ? ORDER BY created_at",
            [order_id, exclude or ""],
        )

    def claims_with_status(self, statuses: Iterable[str]) -> list[ClaimRecord]:
        return [_record(r) for r in self._query_in("SELECT * FROM claims WHERE status IN ({marks})", statuses)]

    def claims_created_between(self, since: datetime, until: datetime) -> list[ClaimRecord]:
        return [
            _record(r)
            for r in self._query(
                "SELECT * FROM claims WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
                [iso(since), iso(until)],
            )
        ]

    # --- photos ----------------------------------------------------------------------------------

    def add_photo(self, photo: StoredPhoto, *, ext: str) -> None:
        """Record a stored photo file; a photo seen before keeps its first row."""
        row = {
            "sha256": photo.sha256,
            "ext": ext,
            "mime": photo.mime,
            "width": photo.width,
            "height": photo.height,
            "size_bytes": photo.size_bytes,
            "phash": photo.phash,
            "exif_taken_at": _capture_time(photo.exif_taken_at),
            "created_at": iso(utcnow()),
        }
        with self.transaction():
            self.db["photos"].insert(row, pk="sha256", ignore=True)  # type: ignore[union-attr]

    def get_photo(self, sha256: str) -> dict | None:
        return self._one("SELECT * FROM photos WHERE sha256 = ?", [sha256])

    def link_photo(
        self,
        claim_id: str,
        sha256: str,
        *,
        position: int,
        original_name: str = "",
        prediction: dict | None = None,
        quality: dict | None = None,
    ) -> bool:
        """Attach a photo to a claim; False if the claim already holds it."""
        row = {
            "claim_id": claim_id,
            "sha256": sha256,
            "position": position,
            "original_name": original_name,
            "prediction": dumps(prediction) if prediction is not None else None,
            "quality": dumps(quality) if quality is not None else None,
            "added_at": iso(utcnow()),
        }
        with self.transaction():
            before = self.conn.total_changes
            self.db["claim_photos"].insert(row, pk=("claim_id", "sha256"), ignore=True)  # type: ignore[union-attr]
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
            "claim_photos", "claim_id = :c AND sha256 = :s", {"c": claim_id, "s": sha256}, {"corrected_label": label}
        )

    def add_labelled_example(
        self, *, claim_id: str, sha256: str, label: str, predicted_label: str | None, reviewer: str
    ) -> None:
        self._execute(
            "INSERT INTO labelled_examples (claim_id, sha256, label, predicted_label, reviewer, at) "
            "VALUES (:claim_id, :sha256, :label, :predicted_label, :reviewer, :at) "
            "ON CONFLICT (claim_id, sha256) DO UPDATE SET label = excluded.label, "
            "reviewer = excluded.reviewer, at = excluded.at",
            {
                "claim_id": claim_id,
                "sha256": sha256,
                "label": label,
                "predicted_label": predicted_label,
                "reviewer": reviewer,
                "at": iso(utcnow()),
            },
        )

    def labelled_examples(self) -> list[dict]:
        """Reviewer-corrected labels joined with the photo file facts (for vision training)."""
        return self._query("SELECT le.*, p.ext FROM labelled_examples le JOIN photos p USING (sha256) ORDER BY le.id")

    # --- the thread the customer sees ------------------------------------------------------------

    def add_message(
        self,
        claim_id: str,
        *,
        actor: str,
        kind: str,
        text: str = "",
        photos: Iterable[str] = (),
        author: str = "",
        at: datetime | None = None,
    ) -> int:
        return self._insert(
            "messages",
            {
                "claim_id": claim_id,
                "at": iso(at or utcnow()),
                "actor": actor,
                "kind": kind,
                "text": text,
                "photos": dumps(list(photos)),
                "author": author,
            },
        )

    def messages(self, claim_id: str) -> list[dict]:
        return self._query("SELECT * FROM messages WHERE claim_id = ? ORDER BY id", [claim_id])

    def count_claims_by_client(self, client_ip_hash: str, since: datetime) -> int:
        return int(
            self._scalar(
                "SELECT count(*) FROM claims WHERE client_ip_hash = ? AND created_at >= ?", [client_ip_hash, iso(since)]
            )
        )

    def count_claims_on_order(self, order_id: str, since: datetime) -> int:
        return int(
            self._scalar("SELECT count(*) FROM claims WHERE order_id = ? AND created_at >= ?", [order_id, iso(since)])
        )

    # --- keyed hashes ----------------------------------------------------------------------------

    def _intake_secret(self, name: str) -> bytes:
        """A random per-database key kept in `meta`, made on first use (the first writer's key wins)."""
        value = self.get_meta(name)
        if value is None:
            with self.transaction():
                self._execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [name, secrets.token_hex(32)])
                value = self.get_meta(name)
        return bytes.fromhex(str(value))

    def client_hash(self, client_ip: str) -> str:
        """What the claims table keeps of a client address: a keyed hash, so repeats count and the address
        cannot be read back (nor found by hashing every address: the key stays in the database)."""
        return hmac.new(self._intake_secret(_CLIENT_KEY), client_ip.encode(), hashlib.sha256).hexdigest()[:32]

    def idempotent_token(self, key: str, claim_id: str) -> str:
        """The access token of the claim filed under idempotency `key`: derived, never stored, so a retry
        with the same key can be given it again while the database holds only its hash."""
        digest = hmac.new(
            self._intake_secret(_IDEMPOTENCY_KEY), f"{key}\x00{claim_id}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode("ascii")

    # --- idempotent submissions ------------------------------------------------------------------

    def get_idempotency(self, key: str) -> dict | None:
        return self._one("SELECT * FROM idempotency_keys WHERE key = ?", [key])

    def put_idempotency(
        self,
        key: str,
        *,
        fingerprint: str,
        claim_id: str,
        token_hash: str | None = None,
        access_token: str | None = None,
    ) -> None:
        """Record a submission under its key; of its token only the hash is kept (give either)."""
        if token_hash is None:
            if access_token is None:
                raise TypeError("put_idempotency needs token_hash (or access_token, which is hashed)")
            token_hash = hashlib.sha256(access_token.encode()).hexdigest()
        self._insert(
            "idempotency_keys",
            {
                "key": key,
                "fingerprint": fingerprint,
                "claim_id": claim_id,
                "token_hash": token_hash,
                "created_at": iso(utcnow()),
            },
        )

    def purge_idempotency(self, before: datetime) -> int:
        return self._execute("DELETE FROM idempotency_keys WHERE created_at < ?", [iso(before)])


# Claim columns the store keeps for its own counting, not part of a claim's record.
_STORE_ONLY = {"client_ip_hash"}


def _record(row: dict) -> ClaimRecord:
    row = {k: v for k, v in row.items() if k not in _STORE_ONLY}
    return ClaimRecord(
        **{
            **row,
            "reasons": tuple(row["reasons"] or ()),
            "fraud_signals": tuple(row["fraud_signals"] or ()),
            "human_requested": bool(row["human_requested"]),
            "reviewed": bool(row["reviewed"]),
            "complaint": row["complaint"] or {},
            "model_versions": row["model_versions"] or {},
        }
    )
