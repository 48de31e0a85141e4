-- Up Migration

-- A bust or correct at the simulated broker changes the order's cumulative figures: a filled order
-- whose trade is busted stays filled (done: it is not worked again) with less than its quantity.
DO $$
DECLARE
  name text;
BEGIN
  SELECT conname INTO name FROM pg_constraint
   WHERE conrelid = 'broker_orders'::regclass AND contype = 'c'
     AND pg_get_constraintdef(oid) LIKE '%''filled''::text) OR (cumulative_quantity = quantity%';
  IF name IS NOT NULL THEN
    EXECUTE format('ALTER TABLE broker_orders DROP CONSTRAINT %I', name);
  END IF;
END $$;

-- Which execution a bust or correct names: the statements leave out what a later one amended.
CREATE INDEX broker_executions_amended ON broker_executions ((report ->> 'refExecId'))
  WHERE exec_type IN ('trade_cancel', 'trade_correct');
-- The statements list trades and corrections of a date.
CREATE INDEX broker_executions_trade_date_corrections ON broker_executions (trade_date)
  WHERE exec_type = 'trade_correct';

-- Down Migration
DROP INDEX broker_executions_trade_date_corrections;
DROP INDEX broker_executions_amended;
ALTER TABLE broker_orders ADD CONSTRAINT broker_orders_check CHECK (status <> 'filled' OR cumulative_quantity = quantity);
