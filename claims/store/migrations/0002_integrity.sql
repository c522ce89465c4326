-- Decisions commit over the state they read, and money moves behind constraints the database enforces.

-- Every status change bumps the claim's version (a compare-and-set: a decision made on an older version is
-- re-decided, never committed); status_actor says who set the current status (customer, system, reviewer).
ALTER TABLE claims ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE claims ADD COLUMN status_actor TEXT NOT NULL DEFAULT 'system'
    CHECK (status_actor IN ('customer', 'system', 'reviewer'));
UPDATE claims SET status_actor = 'reviewer' WHERE status IN ('approved_refund', 'approved_replacement', 'denied', 'info_requested');

-- A reviewer decision was recorded three times (reviews, events, messages); the audit event is the record.
DROP TABLE reviews;

-- A workflow is a payout: it names its order, its amount (refunds) and who authorised it.
ALTER TABLE workflows ADD COLUMN order_id TEXT NOT NULL DEFAULT '';
ALTER TABLE workflows ADD COLUMN amount REAL CHECK (amount IS NULL OR amount >= 0);
ALTER TABLE workflows ADD COLUMN authorised_by TEXT NOT NULL DEFAULT 'system';
UPDATE workflows SET order_id = (SELECT c.order_id FROM claims c WHERE c.claim_id = workflows.claim_id);
UPDATE workflows SET amount = (
    SELECT o.value FROM claims c JOIN orders o ON o.order_id = c.order_id WHERE c.claim_id = workflows.claim_id
) WHERE kind = 'refund';
CREATE INDEX workflows_by_order ON workflows (order_id, state);

-- A claim has at most one live payout: never both refunded and replaced, and a failed one cannot come back
-- while another is live.
CREATE UNIQUE INDEX one_live_workflow_per_claim ON workflows (claim_id) WHERE state != 'failed';

-- Automation pays an order at most once: an automatic payout needs an order with no live payout at all.
-- A second payout on one order exists only when a reviewer approved it (authorised_by names them).
CREATE TRIGGER automatic_payout_is_the_first BEFORE INSERT ON workflows
WHEN NEW.authorised_by = 'system'
 AND EXISTS (SELECT 1 FROM workflows w WHERE w.order_id = NEW.order_id AND w.state != 'failed')
BEGIN SELECT RAISE(ABORT, 'payout_exists: this order already has a payout; only a reviewer may approve another'); END;

CREATE TRIGGER automatic_payout_revived_only_alone BEFORE UPDATE OF state ON workflows
WHEN OLD.state = 'failed' AND NEW.state != 'failed' AND NEW.authorised_by = 'system'
 AND EXISTS (SELECT 1 FROM workflows w WHERE w.order_id = NEW.order_id AND w.state != 'failed' AND w.id != NEW.id)
BEGIN SELECT RAISE(ABORT, 'payout_exists: this order already has a payout; only a reviewer may approve another'); END;

-- Refunds on one order never add up to more than its value (unknown orders have no value to compare).
CREATE TRIGGER refunds_within_order_value BEFORE INSERT ON workflows
WHEN NEW.kind = 'refund' AND NEW.amount IS NOT NULL
 AND NEW.amount + (SELECT coalesce(sum(w.amount), 0) FROM workflows w
                   WHERE w.order_id = NEW.order_id AND w.kind = 'refund' AND w.state != 'failed')
     > (SELECT o.value FROM orders o WHERE o.order_id = NEW.order_id) + 0.005
BEGIN SELECT RAISE(ABORT, 'refund_exceeds_order_value: the refunds on this order would exceed its value'); END;

CREATE TRIGGER refunds_within_order_value_on_revival BEFORE UPDATE OF state ON workflows
WHEN OLD.state = 'failed' AND NEW.state != 'failed' AND NEW.kind = 'refund' AND NEW.amount IS NOT NULL
 AND NEW.amount + (SELECT coalesce(sum(w.amount), 0) FROM workflows w
                   WHERE w.order_id = NEW.order_id AND w.kind = 'refund' AND w.state != 'failed' AND w.id != NEW.id)
     > (SELECT o.value FROM orders o WHERE o.order_id = NEW.order_id) + 0.005
BEGIN SELECT RAISE(ABORT, 'refund_exceeds_order_value: the refunds on this order would exceed its value'); END;

-- The ledger is money that moved: its refunds are bounded the same way.
CREATE TRIGGER ledger_refunds_within_order_value BEFORE INSERT ON ledger
WHEN NEW.kind = 'refund'
 AND NEW.amount + (SELECT coalesce(sum(l.amount), 0) FROM ledger l JOIN claims c ON c.claim_id = l.claim_id
                   WHERE l.kind = 'refund'
                     AND c.order_id = (SELECT order_id FROM claims WHERE claim_id = NEW.claim_id))
     > (SELECT o.value FROM orders o JOIN claims c ON c.order_id = o.order_id WHERE c.claim_id = NEW.claim_id) + 0.005
BEGIN SELECT RAISE(ABORT, 'refund_exceeds_order_value: the refunds on this order would exceed its value'); END;
