// SQL of the reconciler. Every comparison is one set-based statement over the staged statement and
// the order gateway's published views, so a day's size costs the database a join, not a loop here.
// $1 is always the run id. Each broker's statements are staged with its name; the comparisons run over
// all of them at once, since an order is at one broker and our books are one.

export const ROOM_FOR_JOINS = `SET LOCAL work_mem = '128MB'`;

export const INSERT_RUN = `INSERT INTO reconciliation_runs (id, trade_date, repair) VALUES ($1, $2, $3)`;

export const STAGE_EXECUTIONS = `
  INSERT INTO reconciliation_staged_executions
    (run_id, broker, exec_id, client_order_id, account, symbol, side, quantity, price, transact_time, report)
  SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::numeric[],
                               $10::timestamptz[], $11::jsonb[])
  ON CONFLICT (run_id, exec_id) DO NOTHING`;

export const STAGE_ORDERS = `
  INSERT INTO reconciliation_staged_orders
    (run_id, broker, client_order_id, broker_order_id, symbol, status, cumulative_quantity)
  SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[])
  ON CONFLICT (run_id, client_order_id, broker) DO NOTHING`;

const fill = (alias: string, orderId: string) =>
  `${alias}.side || ' ' || trim_scale(${alias}.quantity)::text || ' ' || ${alias}.symbol || ' @ ' || trim_scale(${alias}.price)::text || ' on order ' || ${orderId}`;

// The New York trading date $2 as the instants it spans, from its midnight to the next (23 or 25 hours
// on the days the clocks change). A range on executed_at, instead of converting each fill's time to a
// New York date, costs a comparison a row and lets the planner see how many fills it selects: with the
// date expression it guessed 0.5% of them and joined a million fills to their orders one index probe
// at a time, and the timeline alone took more than twice the bare join of the two sides.
const DAY_START = `($2::date)::timestamp AT TIME ZONE 'America/New_York'`;
const DAY_END = `($2::date + 1)::timestamp AT TIME ZONE 'America/New_York'`;
const OF_DATE = `executed_at >= ${DAY_START} AND executed_at < ${DAY_END}`;

/** Our fills of the New York trading date $2. */
const OUR_FILLS_OF_DATE = `SELECT * FROM order_gateway_fills WHERE ${OF_DATE}`;

// $2 date, $3 pass (1|2), $4 resolutions by kind (jsonb).
// One full join of the broker's executions with ours finds all three execution kinds in a single pass
// over each side. Ours are the fills of the date plus any fill the broker lists (so a fill we dated
// otherwise is compared, not reported missing). A break names the broker that listed the execution;
// one that no broker lists (UNKNOWN_EXECUTION) names none.
export const FIND_EXECUTION_BREAKS = `
  INSERT INTO reconciliation_breaks
    (run_id, kind, broker, symbol, order_id, exec_id, expected, actual, resolution, found_in)
  SELECT $1::uuid, kind, broker, symbol, order_id, exec_id, expected, actual, $4::jsonb ->> kind, $3::smallint
  FROM (
    SELECT CASE WHEN f.exec_id IS NULL THEN 'MISSING_EXECUTION' WHEN s.exec_id IS NULL THEN 'UNKNOWN_EXECUTION'
                ELSE 'EXECUTION_MISMATCH' END AS kind, s.broker,
           COALESCE(s.symbol, f.symbol) AS symbol, COALESCE(s.client_order_id, f.order_id::text) AS order_id,
           COALESCE(s.exec_id, f.exec_id) AS exec_id,
           ${fill('s', 's.client_order_id')} AS expected, ${fill('f', 'f.order_id::text')} AS actual
    FROM (SELECT * FROM reconciliation_staged_executions WHERE run_id = $1) s
    FULL JOIN (
      SELECT * FROM order_gateway_fills
      WHERE (${OF_DATE})
         OR exec_id IN (SELECT exec_id FROM reconciliation_staged_executions WHERE run_id = $1)
    ) f ON f.exec_id = s.exec_id
    WHERE (s.exec_id IS NULL OR f.exec_id IS NULL
       OR f.quantity <> s.quantity OR f.price <> s.price OR f.order_id::text <> s.client_order_id
       OR f.symbol <> s.symbol OR f.side <> s.side)
      -- A fill the gateway kept aside as outside its order's terms is an EXECUTION_ANOMALY, not missing:
      -- republishing it would only be refused again.
      AND NOT (f.exec_id IS NULL AND EXISTS (SELECT 1 FROM order_gateway_execution_anomalies a WHERE a.exec_id = s.exec_id))
  ) b`;

// Fills of the date (on the broker's clock) that the order gateway refused as outside their order's
// terms, unless an operator has already decided them: each is open until then, whatever the repair.
export const FIND_EXECUTION_ANOMALIES = `
  INSERT INTO reconciliation_breaks
    (run_id, kind, broker, symbol, order_id, exec_id, expected, actual, resolution, found_in)
  SELECT $1::uuid, 'EXECUTION_ANOMALY',
         (SELECT s.broker FROM reconciliation_staged_executions s WHERE s.run_id = $1 AND s.exec_id = a.exec_id),
         a.symbol, a.order_id::text, a.exec_id, a.detail,
         'not applied: the order and the ledger are unchanged', $4::jsonb ->> 'EXECUTION_ANOMALY', $3::smallint
  FROM order_gateway_execution_anomalies a
  WHERE (a.executed_at AT TIME ZONE 'America/New_York')::date = $2::date
    AND NOT EXISTS (SELECT 1 FROM reconciliation_breaks d
                    WHERE d.kind = 'EXECUTION_ANOMALY' AND d.exec_id = a.exec_id AND d.resolved_at IS NOT NULL)`;

const brokerOrder = `o.status || ', filled ' || trim_scale(o.cumulative_quantity)::text`;
const ourOrder = `g.status || ', filled ' || trim_scale(g.filled_quantity)::text`;

// The broker's orders of the day against ours (by our order id, the broker's clientOrderId), and our
// orders of the day that the broker acknowledged but does not list: one full join. "Of the day" is the
// order's trade date on the broker's clock (when the broker took it), never the date we created it: an
// order placed after the close is traded, and listed by the broker, on the next trading day.
// The brokers' lists are one list: an order is at the broker it was routed to, and listed by it alone;
// one listed by two brokers is a break at each (an order must never exist at two).
export const FIND_ORDER_MISMATCHES = `
  INSERT INTO reconciliation_breaks
    (run_id, kind, broker, symbol, order_id, exec_id, expected, actual, resolution, found_in)
  SELECT $1::uuid, 'ORDER_STATUS_MISMATCH', o.broker, COALESCE(o.symbol, g.symbol), COALESCE(o.client_order_id, g.key),
         NULL,
         CASE WHEN o.client_order_id IS NULL THEN 'no such order'
              WHEN o.listings > 1 THEN ${brokerOrder} || ', and listed by another broker too'
              ELSE ${brokerOrder} END,
         CASE WHEN g.key IS NULL THEN 'no such order' ELSE ${ourOrder} END,
         $4::jsonb ->> 'ORDER_STATUS_MISMATCH', $3::smallint
  FROM (SELECT *, count(*) OVER (PARTITION BY client_order_id) AS listings
        FROM reconciliation_staged_orders WHERE run_id = $1) o
  FULL JOIN (
    SELECT *, order_id::text AS key FROM order_gateway_orders
    WHERE (broker_order_id IS NOT NULL AND trade_date = $2::date)
       OR order_id::text IN (SELECT client_order_id FROM reconciliation_staged_orders WHERE run_id = $1)
  ) g ON g.key = o.client_order_id
  WHERE o.client_order_id IS NULL OR g.key IS NULL OR g.status <> o.status OR g.filled_quantity <> o.cumulative_quantity
     OR o.listings > 1`;

// What our fills after the date $1 (New York) did to the ledger, per symbol: customers' shares (signed,
// buys positive) and omnibus USD (buys positive). Cash per order as the ledger posts it: the rounded
// cumulative notional through the last fill minus the rounded cumulative notional through the date.
export const FILLS_AFTER_DATE = `
  WITH f AS (
    SELECT order_id, symbol, side, quantity, price, (executed_at AT TIME ZONE 'America/New_York')::date AS day
    FROM order_gateway_fills
  ), per_order AS (
    SELECT symbol, side, sum(quantity) FILTER (WHERE day > $1::date) AS later_quantity,
           round(sum(quantity * price), 2) - round(COALESCE(sum(quantity * price) FILTER (WHERE day <= $1::date), 0), 2) AS later_cash
    FROM f WHERE order_id IN (SELECT order_id FROM f WHERE day > $1::date)
    GROUP BY order_id, symbol, side
  )
  SELECT symbol,
         sum(CASE side WHEN 'buy' THEN later_quantity ELSE -later_quantity END)::text AS shares,
         sum(CASE side WHEN 'buy' THEN later_cash ELSE -later_cash END)::text AS omnibus_cash
  FROM per_order GROUP BY symbol`;

// Positions and cash reconcile as the sum across brokers: their breaks name no broker.
export const INSERT_BREAK = `
  INSERT INTO reconciliation_breaks (run_id, kind, broker, symbol, order_id, exec_id, expected, actual, resolution, found_in)
  VALUES ($1, $2, NULL, $3, NULL, NULL, $4, $5, $6, $7)`;

const sameBreak = `b2.kind = b1.kind AND b2.broker IS NOT DISTINCT FROM b1.broker AND b2.symbol IS NOT DISTINCT FROM b1.symbol
  AND b2.order_id IS NOT DISTINCT FROM b1.order_id AND b2.exec_id IS NOT DISTINCT FROM b1.exec_id`;

// After a repair: what the recheck no longer finds was fixed ($2: resolutions of repaired breaks by
// kind); what it still finds stays open with the recheck's figures; only what is new is kept from pass 2.
export const SETTLE_RECHECK = `
  WITH still AS (
    UPDATE reconciliation_breaks b1 SET expected = b2.expected, actual = b2.actual, resolution = b2.resolution
    FROM reconciliation_breaks b2
    WHERE b1.run_id = $1 AND b1.found_in = 1 AND b2.run_id = $1 AND b2.found_in = 2 AND ${sameBreak}
    RETURNING b2.id
  ), fixed AS (
    UPDATE reconciliation_breaks b1 SET open = false, resolution = $2::jsonb ->> b1.kind
    WHERE b1.run_id = $1 AND b1.found_in = 1
      AND NOT EXISTS (SELECT 1 FROM reconciliation_breaks b2 WHERE b2.run_id = $1 AND b2.found_in = 2 AND ${sameBreak})
  )
  DELETE FROM reconciliation_breaks WHERE id IN (SELECT id FROM still)`;

export const MISSING_REPORTS_PAGE = `
  SELECT b.exec_id, s.account, s.report
  FROM reconciliation_breaks b JOIN reconciliation_staged_executions s ON s.run_id = b.run_id AND s.exec_id = b.exec_id
  WHERE b.run_id = $1 AND b.found_in = 1 AND b.kind = 'MISSING_EXECUTION' AND b.exec_id > $2
  ORDER BY b.exec_id LIMIT $3`;

export const COUNT_MISSING_STILL_UNAPPLIED = `
  SELECT count(*)::int AS n FROM reconciliation_breaks b
  WHERE b.run_id = $1 AND b.found_in = 1 AND b.kind = 'MISSING_EXECUTION'
    AND NOT EXISTS (SELECT 1 FROM order_gateway_fills f WHERE f.exec_id = b.exec_id)`;

// Executions per 5 minutes of the date, the broker's and ours ($1 run, $2 date): a read, which runs
// beside the comparisons; its rows are then stored with them (INSERT_TIMELINE).
export const COUNT_TIMELINE = `
  WITH theirs AS (
    SELECT date_bin('5 minutes', transact_time, '2000-01-01') AS bucket, count(*) AS n
    FROM reconciliation_staged_executions WHERE run_id = $1 GROUP BY 1
  ), ours AS (
    SELECT date_bin('5 minutes', executed_at, '2000-01-01') AS bucket, count(*) AS n FROM (${OUR_FILLS_OF_DATE}) f GROUP BY 1
  )
  SELECT bucket, COALESCE(theirs.n, 0)::int AS broker_count, COALESCE(ours.n, 0)::int AS our_count
  FROM theirs FULL JOIN ours USING (bucket)`;

export const INSERT_TIMELINE = `
  INSERT INTO reconciliation_timeline (run_id, bucket, broker_count, our_count)
  SELECT $1, * FROM unnest($2::timestamptz[], $3::int[], $4::int[])`;

export const FINISH_RUN = `
  UPDATE reconciliation_runs SET status = $2, checked_orders = $3, checked_executions = $4, checked_positions = $5,
         finished_at = now()
  WHERE id = $1`;

export const FAIL_RUN = `UPDATE reconciliation_runs SET status = 'failed', failure = $2, finished_at = now() WHERE id = $1`;

export const COUNT_STAGED = `
  SELECT (SELECT count(*)::int FROM reconciliation_staged_executions WHERE run_id = $1) AS executions,
         (SELECT count(*)::int FROM reconciliation_staged_orders WHERE run_id = $1) AS orders`;

export const COUNT_BREAKS = `
  SELECT count(*) FILTER (WHERE found_in = 1)::int AS found, count(*) FILTER (WHERE open)::int AS open
  FROM reconciliation_breaks WHERE run_id = $1`;

export const CLEAR_STAGING = `
  WITH e AS (DELETE FROM reconciliation_staged_executions WHERE run_id = $1)
  DELETE FROM reconciliation_staged_orders WHERE run_id = $1`;

export const SELECT_RUN = `
  SELECT id, to_char(trade_date, 'YYYY-MM-DD') AS date, status, checked_orders, checked_executions, checked_positions,
         failure, started_at, finished_at
  FROM reconciliation_runs WHERE id = $1`;

const BREAK_COLUMNS = `id::text, kind, broker, symbol, order_id, exec_id, expected, actual, resolution, open`;

export const SELECT_BREAKS = `
  SELECT ${BREAK_COLUMNS}
  FROM reconciliation_breaks WHERE run_id = $1 ORDER BY kind, symbol NULLS FIRST, order_id, exec_id, id`;

export const SELECT_BREAK = `SELECT ${BREAK_COLUMNS} FROM reconciliation_breaks WHERE id = $1`;

// $1 id, $2 operator, $3 note, $4 the resolution text. Only an open break is decided, once.
export const RESOLVE_BREAK = `
  UPDATE reconciliation_breaks SET open = false, resolved_at = now(), resolved_by = $2, note = $3, resolution = $4
  WHERE id = $1 AND open
  RETURNING ${BREAK_COLUMNS}`;

export const SELECT_TIMELINE = `
  SELECT bucket, broker_count, our_count FROM reconciliation_timeline WHERE run_id = $1 ORDER BY bucket`;

// Orders the broker has closed (canceled, expired, rejected) while ours are not, or whose filled
// quantity differs from ours: a dropped closing report, or a dropped bust or correct, which the
// broker's replay of the order's reports can bring back.
export const CLOSED_AT_BROKER_NOT_HERE = `
  SELECT s.broker, s.broker_order_id, s.client_order_id FROM reconciliation_breaks b
  JOIN reconciliation_staged_orders s ON s.run_id = b.run_id AND s.client_order_id = b.order_id AND s.broker = b.broker
  WHERE b.run_id = $1 AND b.found_in = 1 AND b.kind = 'ORDER_STATUS_MISMATCH'
    AND (s.status IN ('canceled', 'expired', 'rejected')
         OR EXISTS (SELECT 1 FROM order_gateway_orders o
                    WHERE o.order_id::text = s.client_order_id AND o.filled_quantity <> s.cumulative_quantity))`;

export const COUNT_ORDERS_STILL_DIFFERENT = `
  SELECT count(*)::int AS n FROM reconciliation_staged_orders s
  JOIN order_gateway_orders o ON o.order_id::text = s.client_order_id
  WHERE s.run_id = $1 AND s.client_order_id = ANY($2::text[])
    AND (o.status <> s.status OR o.filled_quantity <> s.cumulative_quantity)`;

const RUN_SUMMARY_COLUMNS = `
  r.id, to_char(r.trade_date, 'YYYY-MM-DD') AS date, r.status, r.repair, r.checked_orders, r.checked_executions,
  r.checked_positions, r.failure, r.started_at, r.finished_at,
  (SELECT count(*)::int FROM reconciliation_breaks b WHERE b.run_id = r.id) AS breaks_found,
  (SELECT count(*)::int FROM reconciliation_breaks b WHERE b.run_id = r.id AND b.open) AS breaks_open`;

// $1 date or null, $2/$3 the cursor (started_at, id) or nulls, $4 limit.
export const LIST_RUNS = `
  SELECT ${RUN_SUMMARY_COLUMNS}
  FROM reconciliation_runs r
  WHERE ($1::date IS NULL OR r.trade_date = $1)
    AND ($2::timestamptz IS NULL OR (r.started_at, r.id) < ($2, $3::uuid))
  ORDER BY r.started_at DESC, r.id DESC LIMIT $4`;

export const RUN_SUMMARY = `SELECT ${RUN_SUMMARY_COLUMNS} FROM reconciliation_runs r WHERE r.id = $1`;

const BREAK_DETAIL_COLUMNS = `
  b.id::text, b.kind, b.broker, b.symbol, b.order_id, b.exec_id, b.expected, b.actual, b.resolution, b.open,
  b.run_id, to_char(r.trade_date, 'YYYY-MM-DD') AS date, b.found_in, b.resolved_at, b.resolved_by, b.note`;

// $1 run id or null, $2 open or null, $3 kind or null, $4 cursor (id) or null, $5 limit, $6 broker or null.
export const LIST_BREAKS = `
  SELECT ${BREAK_DETAIL_COLUMNS}
  FROM reconciliation_breaks b JOIN reconciliation_runs r ON r.id = b.run_id
  WHERE ($1::uuid IS NULL OR b.run_id = $1) AND ($2::boolean IS NULL OR b.open = $2)
    AND ($3::text IS NULL OR b.kind = $3) AND ($4::bigint IS NULL OR b.id < $4)
    AND ($6::text IS NULL OR b.broker = $6)
  ORDER BY b.id DESC LIMIT $5`;

export const BREAK_DETAIL = `
  SELECT ${BREAK_DETAIL_COLUMNS}
  FROM reconciliation_breaks b JOIN reconciliation_runs r ON r.id = b.run_id WHERE b.id = $1`;

// What is open now: the breaks of the latest finished run of each date (an earlier run's breaks are
// history once a later run of the same date has looked again).
export const OPEN_BREAKS_BY_KIND = `
  SELECT b.kind, count(*)::int AS n
  FROM reconciliation_breaks b
  JOIN (SELECT DISTINCT ON (trade_date) id FROM reconciliation_runs
        WHERE status IN ('clean', 'breaks', 'repaired') ORDER BY trade_date, started_at DESC) latest
    ON latest.id = b.run_id
  WHERE b.open GROUP BY b.kind ORDER BY b.kind`;
