-- The first schema. Never edit a released migration: add the next numbered file.
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
    status TEXT NOT NULL CHECK (status IN ('auto_refund', 'auto_replacement', 'needs_more_photos', 'in_review', 'approved_refund', 'approved_replacement', 'denied', 'info_requested')),
    resolution TEXT CHECK (resolution IN ('refund', 'replacement')),
    priority TEXT CHECK (priority IN ('high', 'normal')),
    reasons TEXT NOT NULL DEFAULT '[]',
    message TEXT NOT NULL DEFAULT '',
    label TEXT,
    complaint TEXT NOT NULL DEFAULT '{}',
    fraud_signals TEXT NOT NULL DEFAULT '[]',
    model_versions TEXT NOT NULL DEFAULT '{}',
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
    corrected_label TEXT CHECK (corrected_label IN ('no_damage', 'crushed_packaging', 'torn_packaging', 'water_damage', 'broken', 'surface_damage')),
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
    detail TEXT NOT NULL DEFAULT '{}',
    model_versions TEXT NOT NULL DEFAULT '{}'
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
    label TEXT NOT NULL CHECK (label IN ('no_damage', 'crushed_packaging', 'torn_packaging', 'water_damage', 'broken', 'surface_damage')),
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
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
