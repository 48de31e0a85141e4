-- Up Migration

-- An account's API keys, each with its own id so that ops can issue a new one and revoke an old one.
-- Only the sha256 of a key is stored: the key itself is shown once. A revoked key stays, marked, so
-- that who revoked it and when is never lost.
CREATE TABLE gateway_api_keys (
  id          uuid PRIMARY KEY,
  account_id  uuid NOT NULL REFERENCES gateway_accounts (id),
  key_hash    bytea NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text,
  revoked_at  timestamptz,
  revoked_by  text,
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX gateway_api_keys_by_account ON gateway_api_keys (account_id, created_at);

INSERT INTO gateway_api_keys (id, account_id, key_hash, created_at)
  SELECT gen_random_uuid(), id, api_key_hash, created_at FROM gateway_accounts;
ALTER TABLE gateway_accounts DROP COLUMN api_key_hash;

-- Every ops action, with the operator who did it. Written in the action's own transaction where the
-- action has one, so the record and the change stand or fall together.
CREATE TABLE ops_audit_log (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  operator  text NOT NULL CHECK (length(operator) BETWEEN 1 AND 64),
  action    text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  target    text,
  detail    jsonb
);
CREATE INDEX ops_audit_log_by_operator ON ops_audit_log (operator, id);

-- Down Migration
DROP TABLE ops_audit_log;
ALTER TABLE gateway_accounts ADD COLUMN api_key_hash bytea UNIQUE;
UPDATE gateway_accounts a SET api_key_hash = (
  SELECT k.key_hash FROM gateway_api_keys k
  WHERE k.account_id = a.id AND k.revoked_at IS NULL ORDER BY k.created_at LIMIT 1);
DROP TABLE gateway_api_keys;
