import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The simulated broker and the fill receiver; this is their one public module. */
export const brokerAdapterMigrations: ComponentMigrations = {
  component: 'broker_adapter',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};
