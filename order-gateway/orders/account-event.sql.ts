/**
 * Takes the next `n` numbers of each account, accounts in id order (two writers never wait on each
 * other in a cycle here). The counter row stays locked until the transaction ends: see migration 0010.
 */
export const TAKE_EVENT_NUMBERS = `
  INSERT INTO account_event_counters (account_id, last_seq)
  SELECT account_id, n FROM unnest($1::uuid[], $2::bigint[]) AS wanted(account_id, n) ORDER BY account_id
  ON CONFLICT (account_id) DO UPDATE SET last_seq = account_event_counters.last_seq + EXCLUDED.last_seq
  RETURNING account_id::text, last_seq::text`;

export const INSERT_EVENTS = `
  INSERT INTO account_events (account_id, seq, type, order_id, at, body)
  SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::uuid[], $5::timestamptz[], $6::jsonb[])`;

/** One wake-up per account and transaction, delivered at commit to every listening trading server. */
export const NOTIFY_ACCOUNTS = `
  SELECT pg_notify('account_events', note) FROM unnest($1::text[]) AS note`;

export const EVENTS_AFTER = `
  SELECT body FROM account_events WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`;
