import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The reconciler; this is its one public module. */
export const reconcilerMigrations: ComponentMigrations = {
  component: 'reconciler',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};
