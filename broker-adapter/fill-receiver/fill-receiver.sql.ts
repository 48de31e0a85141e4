/** The fill receiver's SQL: what it has received and the holes in the broker's sequence. */

// One receiver at a time settles gaps, so two concurrent reports cannot both think they are the highest.
export const LOCK_SEQUENCE_BOOK = `SELECT pg_advisory_xact_lock(hashtext('fill_receiver_sequence'))`;

export const HIGHEST_RECEIVED = `SELECT COALESCE(max(sequence), 0)::bigint AS highest FROM fill_receiver_received`;

export const INSERT_RECEIVED = `
  INSERT INTO fill_receiver_received (sequence, exec_id)
  SELECT * FROM unnest($1::bigint[], $2::text[])
  ON CONFLICT (sequence) DO NOTHING
  RETURNING sequence`;

export const INSERT_GAPS = `
  INSERT INTO fill_receiver_gaps (sequence)
  SELECT s FROM generate_series($1::bigint, $2::bigint) AS s
  WHERE NOT EXISTS (SELECT 1 FROM fill_receiver_received r WHERE r.sequence = s)
  ON CONFLICT (sequence) DO NOTHING`;

export const FILL_GAPS = `UPDATE fill_receiver_gaps SET filled_at = now() WHERE sequence = ANY($1::bigint[]) AND filled_at IS NULL`;

export const OPEN_GAPS = `SELECT sequence, detected_at FROM fill_receiver_gaps WHERE filled_at IS NULL ORDER BY sequence`;

export const ALL_GAPS = `SELECT sequence, detected_at, filled_at FROM fill_receiver_gaps ORDER BY sequence`;
