/** The fill receiver's SQL: what it has received and the holes in each broker's sequence. */

// One receiver at a time settles a broker's gaps, so two concurrent reports cannot both think they are the highest.
export const LOCK_SEQUENCE_BOOK = `SELECT pg_advisory_xact_lock(hashtext('fill_receiver_sequence:' || $1))`;

export const HIGHEST_RECEIVED = `
  SELECT COALESCE(max(sequence), 0)::bigint AS highest FROM fill_receiver_received WHERE broker = $1`;

export const INSERT_RECEIVED = `
  INSERT INTO fill_receiver_received (broker, sequence, exec_id)
  SELECT $1, * FROM unnest($2::bigint[], $3::text[])
  ON CONFLICT (broker, sequence) DO NOTHING
  RETURNING sequence`;

export const INSERT_GAPS = `
  INSERT INTO fill_receiver_gaps (broker, sequence)
  SELECT $1, s FROM generate_series($2::bigint, $3::bigint) AS s
  WHERE NOT EXISTS (SELECT 1 FROM fill_receiver_received r WHERE r.broker = $1 AND r.sequence = s)
  ON CONFLICT (broker, sequence) DO NOTHING`;

export const FILL_GAPS = `
  UPDATE fill_receiver_gaps SET filled_at = now()
  WHERE broker = $1 AND sequence = ANY($2::bigint[]) AND filled_at IS NULL`;

export const OPEN_GAPS = `
  SELECT broker, sequence, detected_at FROM fill_receiver_gaps WHERE filled_at IS NULL ORDER BY broker, sequence`;

export const ALL_GAPS = `SELECT broker, sequence, detected_at, filled_at FROM fill_receiver_gaps ORDER BY broker, sequence`;
