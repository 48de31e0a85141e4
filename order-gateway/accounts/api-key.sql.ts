export const INSERT_API_KEY = `
  INSERT INTO gateway_api_keys (id, account_id, key_hash, created_by) VALUES ($1, $2, $3, $4)
  RETURNING id, created_at`;

export const API_KEY_BY_HASH = `
  SELECT id, account_id FROM gateway_api_keys WHERE key_hash = $1 AND revoked_at IS NULL`;

// A second revocation keeps the first one's time and operator.
export const REVOKE_API_KEY = `
  WITH target AS (
    SELECT id, revoked_at IS NOT NULL AS already_revoked FROM gateway_api_keys
    WHERE id = $1 AND account_id = $2 FOR UPDATE
  )
  UPDATE gateway_api_keys k
  SET revoked_at = coalesce(k.revoked_at, now()), revoked_by = coalesce(k.revoked_by, $3)
  FROM target WHERE k.id = target.id
  RETURNING k.key_hash, target.already_revoked`;

export const API_KEYS_OF_ACCOUNT = `
  SELECT id, created_at, created_by, revoked_at, revoked_by FROM gateway_api_keys
  WHERE account_id = $1 ORDER BY created_at, id`;
