import { randomBytes } from 'node:crypto';

/** Topic, group and database names that no other test file uses, so files can share one server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}
