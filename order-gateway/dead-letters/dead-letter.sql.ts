export const INSERT_DEAD_LETTER = `
  INSERT INTO dead_letters
    (consumer, topic, topic_partition, message_offset, message_key, message_value, headers, error, attempts)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (consumer, topic, topic_partition, message_offset) DO NOTHING
  RETURNING id`;

const COLUMNS = `
  id, consumer, topic, topic_partition, message_offset, message_key, message_value, headers, error,
  attempts, parked_at, replayed_at, replayed_by`;

export const LIST_DEAD_LETTERS = `
  SELECT ${COLUMNS} FROM dead_letters
  WHERE ($1::text = 'all' OR ($1 = 'parked') = (replayed_at IS NULL))
  ORDER BY parked_at DESC, id LIMIT $2`;

export const LOCK_DEAD_LETTER = `SELECT ${COLUMNS} FROM dead_letters WHERE id = $1 FOR UPDATE`;

export const MARK_REPLAYED = `
  UPDATE dead_letters SET replayed_at = now(), replayed_by = $2 WHERE id = $1
  RETURNING ${COLUMNS}`;
