/** The ops listing of order anomalies (of some kinds, or all): newest first, a page at a time by id. */
export const LIST_ANOMALIES = `
  SELECT id::text, kind, order_id::text, exec_id, detail, event, recorded_at
  FROM order_anomalies
  WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text[] IS NULL OR kind = ANY($2))
  ORDER BY id DESC
  LIMIT $3`;
