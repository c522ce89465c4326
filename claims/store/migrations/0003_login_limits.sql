-- Logins are limited per client IP and per name, with a back-off that doubles (claims/accounts.py), and the
-- audit trail keeps neither a rejected username nor a raw IP: what someone typed as a name may be a
-- mistyped password. A name is stored only when an account has it; every attempt carries keyed hashes
-- (HMAC with a per-database key in `meta`) of the name as typed and of the IP, so repeats still correlate.

-- The old table was only the lock-out count, keyed by whatever was typed as a name: it goes, and with it
-- any lock-out in force (the new limits start counting afresh).
DROP TABLE login_attempts;
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    name TEXT,
    name_hash TEXT NOT NULL,
    ip_hash TEXT,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1))
);
CREATE INDEX login_attempts_by_name ON login_attempts (name_hash, at);
CREATE INDEX login_attempts_by_ip ON login_attempts (ip_hash, at);

-- Login events written before this migration named what was typed. Where no account has that name, the
-- name is removed (the one update ever made to the append-only trail; the trigger is put back unchanged).
DROP TRIGGER events_are_append_only_update;
UPDATE events SET actor = 'anonymous', detail = '{}'
WHERE kind IN ('login_succeeded', 'login_failed', 'login_blocked')
  AND actor NOT IN (SELECT 'reviewer:' || name FROM reviewers);
CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
