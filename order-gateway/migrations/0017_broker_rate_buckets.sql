-- Up Migration

-- One token bucket per broker (requests/rate-limit.rules.ts). Every request server takes its tokens
-- from this row under its row lock, inside the transaction that claims the calls they pay for: the
-- limit holds across any number of request servers and survives a restart. The lock is never held
-- during a call to the broker (the claim commits first). `per_second` and `burst` are the limit the
-- last claim ran with, so /metrics can say how full the bucket is now; `taken` and `throttled` only
-- grow (tokens handed out; claims that found work held back by the bucket).
CREATE TABLE broker_rate_buckets (
  broker      text PRIMARY KEY,
  tokens      double precision NOT NULL CHECK (tokens >= 0),
  refilled_at timestamptz NOT NULL,
  per_second  double precision NOT NULL CHECK (per_second > 0),
  burst       integer NOT NULL CHECK (burst >= 1),
  taken       bigint NOT NULL DEFAULT 0,
  throttled   bigint NOT NULL DEFAULT 0
);

-- The broker a request goes to (`primary` while there is one), and its order's place in the order of
-- placement (orders.seq): a throttled broker's queue is served in that order, through the index below.
ALTER TABLE broker_submissions ADD COLUMN broker text NOT NULL DEFAULT 'primary';
ALTER TABLE broker_submissions ADD COLUMN placed_seq bigint;
UPDATE broker_submissions s SET placed_seq = o.seq FROM orders o WHERE o.id = s.order_id;
CREATE INDEX broker_submissions_due_by_placement ON broker_submissions (broker, placed_seq)
  WHERE state IN ('queued', 'unknown', 'sending', 'checking');

-- Down Migration
DROP INDEX broker_submissions_due_by_placement;
ALTER TABLE broker_submissions DROP COLUMN placed_seq;
ALTER TABLE broker_submissions DROP COLUMN broker;
DROP TABLE broker_rate_buckets;
