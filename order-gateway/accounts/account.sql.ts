export const INSERT_ACCOUNT = `
  INSERT INTO gateway_accounts (id, name, api_key_hash) VALUES ($1, $2, $3)`;

export const ACCOUNT_ID_BY_KEY_HASH = `
  SELECT id FROM gateway_accounts WHERE api_key_hash = $1`;

export const ACCOUNT_EXISTS = `
  SELECT 1 FROM gateway_accounts WHERE id = $1`;
