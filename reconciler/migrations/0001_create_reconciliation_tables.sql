-- Up Migration

CREATE TABLE reconciliation_runs (
  id                  uuid PRIMARY KEY,
  trade_date          date NOT NULL,
  repair              boolean NOT NULL,
  status              text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'clean', 'breaks', 'repaired', 'failed')),
  checked_orders      integer NOT NULL DEFAULT 0 CHECK (checked_orders >= 0),
  checked_executions  integer NOT NULL DEFAULT 0 CHECK (checked_executions >= 0),
  checked_positions   integer NOT NULL DEFAULT 0 CHECK (checked_positions >= 0),
  failure             text,
  started_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);
CREATE INDEX reconciliation_runs_by_date ON reconciliation_runs (trade_date, started_at);

-- found_in: 1 = the first check, 2 = the check after a repair. `expected` is the broker's side (the
-- statement is authoritative), `actual` ours. A pass-1 break the recheck no longer finds is closed.
CREATE TABLE reconciliation_breaks (
  id          bigserial PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('MISSING_EXECUTION', 'UNKNOWN_EXECUTION', 'EXECUTION_MISMATCH',
                'ORDER_STATUS_MISMATCH', 'POSITION_MISMATCH', 'CASH_MISMATCH')),
  symbol      text,
  order_id    text,
  exec_id     text,
  expected    text,
  actual      text,
  resolution  text,
  open        boolean NOT NULL DEFAULT true,
  found_in    smallint NOT NULL CHECK (found_in IN (1, 2))
);
CREATE INDEX reconciliation_breaks_by_run ON reconciliation_breaks (run_id, found_in, kind);

-- Executions per 5 minutes of the New York day, broker's and ours, for the report's chart.
CREATE TABLE reconciliation_timeline (
  run_id        uuid NOT NULL REFERENCES reconciliation_runs (id) ON DELETE CASCADE,
  bucket        timestamptz NOT NULL,
  broker_count  integer NOT NULL,
  our_count     integer NOT NULL,
  PRIMARY KEY (run_id, bucket)
);

-- The broker's statements of a run, staged so they can be compared with set joins; emptied when the
-- run ends. UNLOGGED: a crash loses only what the next run fetches again.
CREATE UNLOGGED TABLE reconciliation_staged_executions (
  run_id           uuid NOT NULL,
  exec_id          text NOT NULL,
  client_order_id  text NOT NULL,
  account          text NOT NULL,
  symbol           text NOT NULL,
  side             text NOT NULL,
  quantity         numeric NOT NULL,
  price            numeric NOT NULL,
  transact_time    timestamptz NOT NULL,
  report           jsonb NOT NULL,
  PRIMARY KEY (run_id, exec_id)
);

CREATE UNLOGGED TABLE reconciliation_staged_orders (
  run_id               uuid NOT NULL,
  client_order_id      text NOT NULL,
  broker_order_id      text NOT NULL,
  symbol               text NOT NULL,
  status               text NOT NULL,
  cumulative_quantity  numeric NOT NULL,
  PRIMARY KEY (run_id, client_order_id)
);

-- Down Migration
DROP TABLE reconciliation_staged_orders;
DROP TABLE reconciliation_staged_executions;
DROP TABLE reconciliation_timeline;
DROP TABLE reconciliation_breaks;
DROP TABLE reconciliation_runs;
