-- Up Migration

-- A broker's bust (trade_cancel) or correct (trade_correct) is held for an operator, once per
-- report: a redelivered report finds its row and changes nothing.
CREATE UNIQUE INDEX order_anomalies_trade_correction ON order_anomalies (exec_id)
  WHERE kind = 'TRADE_CORRECTION_FOR_OPS';

-- Down Migration
DROP INDEX order_anomalies_trade_correction;
