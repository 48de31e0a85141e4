import type { Queryable } from '../../platform/index.ts';
import { INSERT_OPS_ACTION, LIST_OPS_ACTIONS } from './ops-audit.sql.ts';

export interface OpsAction {
  /** The operator's name (OPS_API_KEY is `ops`; OPS_API_KEYS names the others). */
  operator: string;
  /** What was done, as `noun.verb`: `account.create`, `deposit.create`, `api_key.revoke`, ... */
  action: string;
  /** What it was done to: an account id, a run id, a message id. */
  target?: string | null;
  detail?: Record<string, unknown> | null;
}

export interface RecordedOpsAction {
  id: string;
  at: string;
  operator: string;
  action: string;
  target: string | null;
  detail: unknown;
}

/**
 * Records an ops action with who did it. Pass the action's own transaction where it has one, so the
 * record and the change commit together or not at all.
 */
export async function recordOpsAction(db: Queryable, entry: OpsAction): Promise<void> {
  await db.query(INSERT_OPS_ACTION, [
    entry.operator,
    entry.action,
    entry.target ?? null,
    entry.detail === undefined || entry.detail === null ? null : JSON.stringify(entry.detail),
  ]);
}

export async function listOpsActions(
  db: Queryable,
  query: { limit: number; after?: string | undefined; operator?: string | undefined },
): Promise<{ actions: RecordedOpsAction[]; next: string | null }> {
  const { rows } = await db.query<{
    id: string;
    at: Date;
    operator: string;
    action: string;
    target: string | null;
    detail: unknown;
  }>(LIST_OPS_ACTIONS, [query.limit + 1, query.after ?? null, query.operator ?? null]);
  const page = rows.slice(0, query.limit);
  return {
    actions: page.map((row) => ({ ...row, at: row.at.toISOString() })),
    next: rows.length > query.limit ? page[page.length - 1]!.id : null,
  };
}
