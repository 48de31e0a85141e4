export const INSERT_SESSION = `
  INSERT INTO ops_sessions (token_hash, operator, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`;

export const SESSION_OPERATOR = `
  SELECT operator, expires_at FROM ops_sessions WHERE token_hash = $1 AND expires_at > now()`;

export const DELETE_SESSION = `DELETE FROM ops_sessions WHERE token_hash = $1`;

export const DELETE_EXPIRED_SESSIONS = `DELETE FROM ops_sessions WHERE expires_at <= now()`;
