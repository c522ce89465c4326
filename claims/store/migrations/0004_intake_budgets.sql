-- Intake budgets (claims/service/_intake.py): new claims are counted per client address and per order in the
-- write transaction that files them. The address is kept only as a keyed hash (HMAC with a per-database key
-- in `meta`), enough to count repeats, never the address itself.
ALTER TABLE claims ADD COLUMN client_ip_hash TEXT;
CREATE INDEX claims_by_client_ip ON claims (client_ip_hash, created_at) WHERE client_ip_hash IS NOT NULL;
CREATE INDEX claims_by_order_created ON claims (order_id, created_at);

-- Idempotency records kept the claim's access token in plain text so a retry could be given it back. The
-- token of an idempotent submission is now derived from the key (HMAC with a per-database key) and only its
-- hash is kept. Records written before hold tokens: they go (a retry within their last 24 hours files anew).
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    claim_id TEXT NOT NULL REFERENCES claims (claim_id),
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
