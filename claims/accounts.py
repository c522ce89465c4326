"""Reviewer accounts: who may open the review tab.

Accounts come from `settings.reviewers` ("name:password,name2:password2", usually the CLAIMBOT_REVIEWERS
environment variable). With none configured, one account named `reviewer` with a random password is
created on first run; `claimbot serve` prints that password once. There is no default password in code.
Passwords are stored as salted scrypt hashes; every checked login attempt is recorded and audited, and so
is the first refused one of each back-off.

Login limits (`authenticate`): after `login_max_failures` failures for one name, or
`login_max_failures_per_ip` failures from one client IP (any names: this is what stops password
spraying), further attempts for that name / from that IP are refused (RateLimited) until a back-off has
passed since the latest failure: `login_backoff_seconds`, doubling with each further failure, at most
`login_backoff_max_seconds`. A refused attempt is neither checked nor counted, so it never extends the
back-off: whoever waits it out gets a real try. A success clears the name's count. Failures older than
`login_window_seconds` no longer count.

A name's limit can be tripped by anyone who knows the name, from many addresses. So that this cannot lock
a reviewer out, an IP where that name signed in within `login_trusted_days` is held only to the failures
for that name from that IP (the per-name threshold), not to everyone's.

The audit (the `login_attempts` rows and the login events) stores a name only when an account has it;
whatever else was typed (often a password in the wrong field) is kept as a keyed hash, and so is every IP.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def authenticate(
    store: Store,
    settings: Settings,
    username: str,
    password: str,
    *,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> bool:
    """True when the name and password match an active account. Every attempt is audited.

    Raises RateLimited, without checking the password, while the name or `client_ip` waits out a back-off
    (see the module docstring). A refused attempt does not count as a failure; the first one of each
    back-off is recorded and audited (`login_blocked`), its repeats are not, so a flood of refused
    attempts cannot fill the disk.
    """
    username = (username or "").strip()[:64]
    password = (password or "")[:_MAX_PASSWORD]
    now = now or utcnow()
    key = store.login_hash_key()
    name_hash = _keyed_hash(key, "name", username)
    ip_hash = _keyed_hash(key, "ip", client_ip) if client_ip else None
    with store.transaction() as tx:
        row = tx.get_reviewer(username) if username else None
        known = username if row is not None else None
        actor = f"reviewer:{known}" if known else "anonymous"
        detail = {"reviewer": known} if known else {"name_hash": name_hash}
        if ip_hash:
            detail["ip_hash"] = ip_hash
        hold = _hold(tx, settings, name_hash, ip_hash, now)
        if hold is None:
            # Recorded as a failure before the (slow) password check, so concurrent guesses count at once.
            attempt = tx.add_login_attempt(name=known, name_hash=name_hash, ip_hash=ip_hash, at=now)
        elif not tx.login_refusal_recorded(hold.since, name_hash=hold.name_hash, ip_hash=hold.ip_hash):
            tx.add_login_attempt(name=known, name_hash=name_hash, ip_hash=ip_hash, at=now, blocked=True)
            tx.log_event(None, actor, "login_blocked", at=now, detail={**detail, "wait_seconds": round(hold.wait)})
    if hold is not None:
        raise RateLimited(
            f"Too many failed sign-in attempts. Sign-in is paused for {_in_words(hold.wait)}, and until then "
            "even the right password is refused. Please try again after that."
        )
    ok = verify_password(password, row["password_hash"] if row else _dummy_hash())
    ok = ok and row is not None and bool(row["active"])
    with store.transaction() as tx:
        if ok:
            tx.login_succeeded(attempt)
        tx.log_event(None, actor, "login_succeeded" if ok else "login_failed", at=now, detail=detail)
    return ok


def _keyed_hash(key: bytes, kind: str, value: str) -> str:
    """What the audit keeps instead of a rejected name or an IP: the same input gives the same hash within
    one database (attempts still correlate), and without the key it cannot be reversed by trying values."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class _Hold:
    """A back-off in force: how long it still lasts, since which failure, and which key it holds."""

    wait: float
    since: datetime
    name_hash: str | None
    ip_hash: str | None


def _hold(store: Store, settings: Settings, name_hash: str, ip_hash: str | None, now: datetime) -> _Hold | None:
    """The longest back-off this attempt must still wait out, if any, among the limits that apply."""
    since = now - timedelta(seconds=max(settings.login_window_seconds, settings.login_backoff_max_seconds))
    trusted = ip_hash is not None and store.login_succeeded_before(
        name_hash, ip_hash, now - timedelta(days=settings.login_trusted_days)
    )
    keys: list[tuple[str | None, str | None, int]]
    if trusted:  # the reviewer's own address: only failures for this name from here hold it back
        keys = [(name_hash, ip_hash, settings.login_max_failures)]
    else:
        keys = [(name_hash, None, settings.login_max_failures)]
        if ip_hash is not None:
            keys.append((None, ip_hash, settings.login_max_failures_per_ip))
    hold = None
    for key_name, key_ip, limit in keys:
        failures, latest = store.login_failures(since, name_hash=key_name, ip_hash=key_ip)
        if failures < limit or latest is None:
            continue
        doublings = min(failures - limit, 40)
        delay = min(settings.login_backoff_max_seconds, settings.login_backoff_seconds * 2**doublings)
        wait = (latest + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0 and (hold is None or wait > hold.wait):
            hold = _Hold(wait, latest, key_name, key_ip)
    return hold


def _in_words(seconds: float) -> str:
    if seconds <= 90:
        return f"{max(1, math.ceil(seconds))} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
