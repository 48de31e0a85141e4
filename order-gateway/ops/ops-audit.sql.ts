export const INSERT_OPS_ACTION = `
  INSERT INTO ops_audit_log (operator, action, target, detail) VALUES ($1, $2, $3, $4)`;

// Newest first; $2 is the cursor (an id), null for the first page.
export const LIST_OPS_ACTIONS = `
  SELECT id, at, operator, action, target, detail FROM ops_audit_log
  WHERE ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR operator = $3)
  ORDER BY id DESC LIMIT $1`;
