export const INSERT_ACCOUNT = `
  INSERT INTO gateway_accounts (id, name) VALUES ($1, $2)`;

export const ACCOUNT_EXISTS = `
  SELECT 1 FROM gateway_accounts WHERE id = $1`;

// Placements of one account queue here, so the open-order count each one reads is the last word.
// NO KEY UPDATE: the orders' foreign key takes KEY SHARE on this row, which this does not block.
// In id order: two transactions locking several accounts never wait on each other in a cycle.
export const LOCK_ACCOUNTS = `
  SELECT id FROM gateway_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`;

export const LOCK_ACCOUNT = `
  SELECT 1 FROM gateway_accounts WHERE id = $1 FOR NO KEY UPDATE`;
