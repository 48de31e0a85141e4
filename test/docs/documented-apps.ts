import type { FastifyInstance } from 'fastify';
import { composeTradingServer } from '../../bin/system.ts';
import { createFillReceiverApp } from '../../broker-adapter/index.ts';
import {
  BrokerService,
  createBrokerApp,
  FaultPlan,
  PricePath,
  realClock,
} from '../../broker-adapter/simulator/index.ts';
import { createPool, InProcessBus, loadConfig, silentLogger } from '../../platform/index.ts';

/** A route as docs/api.md names it: `GET /v1/orders/{id}`. */
export type Route = string;

export interface DocumentedApps {
  trading: FastifyInstance;
  broker: FastifyInstance;
  fillReceiver: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The three HTTP apps exactly as the composition root builds them, on a pool that never connects
 * (pg connects on the first query, and nothing here queries) and an in-process bus: their route
 * tables and the OpenAPI document need no database.
 */
export async function buildDocumentedApps(): Promise<DocumentedApps> {
  const config = loadConfig({ OPS_API_KEY: 'ops_documented_apps_key', SIM_SEED: '1' });
  const pool = createPool('postgres://nobody@127.0.0.1:1/never', { name: 'docs' });
  const bus = new InProcessBus(1);
  const { trading } = await composeTradingServer({
    config,
    pool,
    bus,
    logger: silentLogger,
    brokerUrl: 'http://127.0.0.1:1',
  });
  const service = new BrokerService({
    pool,
    clock: realClock(),
    prices: new PricePath({ seed: 1, anchor: new Date() }),
    faults: new FaultPlan({
      seed: 1,
      probabilities: config.BROKER_FAULTS.probabilities,
      latencyMs: { min: 0, max: 0 },
      outageWindowMs: 2_000,
    }),
    logger: silentLogger,
  });
  const broker = createBrokerApp({ service, apiKey: 'docs-broker-key' });
  const fillReceiver = createFillReceiverApp({ bus, pool, logger: silentLogger, secret: 'docs-fill-receiver-secret' });
  await Promise.all([trading.app.ready(), broker.ready(), fillReceiver.ready()]);
  return {
    trading: trading.app,
    broker,
    fillReceiver,
    close: async () => {
      await Promise.all([trading.app.close(), broker.close(), fillReceiver.close()]);
      await bus.close();
      await pool.end();
    },
  };
}

/**
 * The routes of an app from fastify's own route table (`printRoutes`), as `METHOD /path/{param}`.
 * HEAD (fastify adds one to every GET) and the swagger UI's static files are left out.
 */
export function routesOf(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const parents: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = (parents[depth - 1] ?? '') + match[2]!;
    parents[depth] = path;
    parents.length = depth + 1;
    if (!match[3] || path.includes('*') || path.startsWith('/docs/ui/')) continue;
    for (const method of match[3].split(',').map((m) => m.trim())) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return [...new Set(routes)].sort();
}
