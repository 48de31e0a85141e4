import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The ledger owns its tables; this is its one public module. */
export const ledgerMigrations: ComponentMigrations = {
  component: 'ledger',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};
