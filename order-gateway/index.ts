import { fileURLToPath } from 'node:url';
import type { ComponentMigrations } from '../platform/index.ts';

/** The trading server and request server; this is their one public module. */
export { buildApp, type AppDependencies } from './app.ts';

export const orderGatewayMigrations: ComponentMigrations = {
  component: 'order_gateway',
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
};
