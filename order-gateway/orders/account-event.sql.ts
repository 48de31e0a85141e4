/**
 * Appends events in one round trip: takes the next numbers of each account (accounts in id order, so
 * two writers never wait on each other in a cycle; the counter row stays locked until the transaction
 * ends, see migration 0010), numbers the account's events in the order given, inserts them with their
 * number in the body, and queues one notification per account for the commit. Returns each event's
 * position in the input (`n`, from 1) and its number.
 */
export const APPEND_EVENTS = `
  WITH wanted AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::jsonb[])
      WITH ORDINALITY AS wanted(account_id, type, order_id, at, body, n)
  ), counted AS (
    INSERT INTO account_event_counters (account_id, last_seq)
    SELECT account_id, count(*) FROM wanted GROUP BY account_id ORDER BY account_id
    ON CONFLICT (account_id) DO UPDATE SET last_seq = account_event_counters.last_seq + EXCLUDED.last_seq
    RETURNING account_id, last_seq
  ), numbered AS (
    SELECT w.*, c.last_seq - count(*) OVER (PARTITION BY w.account_id)
                + row_number() OVER (PARTITION BY w.account_id ORDER BY w.n) AS seq
      FROM wanted w JOIN counted c USING (account_id)
  ), inserted AS (
    INSERT INTO account_events (account_id, seq, type, order_id, at, body)
    SELECT account_id, seq, type, order_id, at, body || jsonb_build_object('seq', seq) FROM numbered
  ), notified AS (
    SELECT count(pg_notify('account_events', account_id || ':' || last_seq)) AS notes FROM counted
  )
  SELECT n::int, seq::text FROM numbered, notified ORDER BY n`;

export const EVENTS_AFTER = `
  SELECT body FROM account_events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`;
