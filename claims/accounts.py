"""Reviewer accounts: who may open the review tab.

Accounts come from `settings.reviewers` ("name:password,name2:password2", usually the CLAIMBOT_REVIEWERS
environment variable). With none configured, one account named `reviewer` with a random password is
created on first run; `claimbot serve` prints that password once. There is no default password in code.
Passwords are stored as salted scrypt hashes; every login attempt is recorded and audited, and a name
with too many recent failures is refused (RateLimited) until the window passes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from claims.config import Settings
from claims.errors import InvalidInput, RateLimited
from claims.models import utcnow
from claims.store import Store

GENERATED_NAME = "reviewer"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# scrypt cost: about 16 MiB and a few tens of milliseconds per check, enough to make guessing slow.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MAX_PASSWORD = 1024


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of a password against `hash_password` output."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = encoded.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=len(digest_hex) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def parse_reviewers(spec: str) -> dict[str, str]:
    """'name:password,name2:password2' -> {name: password}; raise InvalidInput on a malformed entry."""
    accounts: dict[str, str] = {}
    for index, entry in enumerate(filter(None, (part.strip() for part in (spec or "").split(","))), start=1):
        name, sep, password = entry.partition(":")
        name = name.strip()
        if not sep or not _NAME_RE.match(name) or not password:
            raise InvalidInput(
                f"reviewer account {index} in the reviewers setting is not 'name:password' "
                "(names use letters, digits, '.', '_', '@' or '-')."
            )
        accounts[name] = password
    return accounts


def ensure_accounts(store: Store, settings: Settings) -> tuple[str, str] | None:
    """Bring the account table in line with settings; return (name, password) if one was just generated.

    Configured accounts are created or updated and every other account is deactivated. With none
    configured and no active account at all, one random account is created; its password is returned
    exactly once and only its hash is kept.
    """
    configured = parse_reviewers(settings.reviewers)
    with store.transaction():
        existing = {row["name"]: row for row in store.reviewers()}
        if configured:
            for name, password in configured.items():
                row = existing.get(name)
                if (
                    row
                    and row["active"]
                    and row["source"] == "settings"
                    and verify_password(password, row["password_hash"])
                ):
                    continue
                store.upsert_reviewer(name, password_hash=hash_password(password), source="settings")
                store.log_event(None, "system", "reviewer_account_set", detail={"reviewer": name})
            for name, row in existing.items():
                if name not in configured and row["active"]:
                    store.set_reviewer_active(name, False)
                    store.log_event(None, "system", "reviewer_account_disabled", detail={"reviewer": name})
            return None
        if any(row["active"] and row["source"] == "generated" for row in existing.values()):
            return None
        # Accounts that came from settings no longer configured: switch them off, create a fresh one.
        for name, row in existing.items():
            if row["active"]:
                store.set_reviewer_active(name, False)
        password = secrets.token_urlsafe(12)
        store.upsert_reviewer(GENERATED_NAME, password_hash=hash_password(password), source="generated")
        store.log_event(None, "system", "reviewer_account_generated", detail={"reviewer": GENERATED_NAME})
        return GENERATED_NAME, password


def announcement(name: str, password: str) -> str:
    """What `serve` prints, once, for an account it generated (the password is never shown again)."""
    return (
        f"Created reviewer account '{name}' with password: {password}\n"
        "It is shown only this once. To choose your own accounts, set CLAIMBOT_REVIEWERS='name:password,...'."
    )


def authenticate(store: Store, settings: Settings, username: str, password: str) -> bool:
    """True when the name and password match an active account. Every attempt is recorded and audited.

    Raises RateLimited once the name has `login_max_failures` failures within `login_window_seconds`
    (counted since its last success); the refused attempt is recorded too.
    """
    username = (username or "").strip()[:64]
    password = (password or "")[:_MAX_PASSWORD]
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    if store.count_login_failures(username, since) >= settings.login_max_failures:
        with store.transaction():
            store.add_login_attempt(username, success=False, blocked=True)
            store.log_event(None, f"reviewer:{username}", "login_blocked", detail={"reviewer": username})
        raise RateLimited("Too many failed sign-in attempts for this name. Please wait a few minutes and try again.")
    row = store.get_reviewer(username)
    ok = verify_password(password, row["password_hash"] if row else _dummy_hash())
    ok = ok and row is not None and bool(row["active"])
    with store.transaction():
        store.add_login_attempt(username, success=ok)
        store.log_event(
            None, f"reviewer:{username}", "login_succeeded" if ok else "login_failed", detail={"reviewer": username}
        )
    return ok
