export const PARK_REPORT = `
  INSERT INTO parked_reports (exec_id, order_id, report) VALUES ($1, $2, $3)
  ON CONFLICT (exec_id) DO NOTHING`;

export const PARKED_BATCH = `
  SELECT exec_id, order_id, report FROM parked_reports ORDER BY parked_at LIMIT $1 FOR UPDATE SKIP LOCKED`;

export const UNPARK = `DELETE FROM parked_reports WHERE exec_id = $1`;

export const TOUCH_PARKED = `UPDATE parked_reports SET attempts = attempts + 1 WHERE exec_id = $1`;

export const INSERT_REPORT_ANOMALY = `
  INSERT INTO order_anomalies (order_id, kind, detail, event) VALUES (NULL, $1, $2, $3)`;

export const HOLD_TRADE_CORRECTION = `
  INSERT INTO order_anomalies (order_id, kind, detail, event, exec_id)
  SELECT o.id, $1, $2, $3, $4 FROM (SELECT 1) one LEFT JOIN orders o ON o.id::text = $5
  ON CONFLICT (exec_id) WHERE kind = 'TRADE_CORRECTION_FOR_OPS' DO NOTHING`;
