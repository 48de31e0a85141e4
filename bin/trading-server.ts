import { BrokerClient, ensureExecutionsTopic } from '../broker-adapter/index.ts';
import { ensureOrderRequestsTopic } from '../order-gateway/index.ts';
import { answerUsage, runProcess } from '../platform/index.ts';
import { connectSeparateProcess, separateProcessSettings } from './process-env.ts';
import { composeTradingServer } from './system.ts';

/**
 * The trading server (매매 서버) as its own process: the HTTP API, the outbox relay and the execution
 * consumer, on shared PostgreSQL and Kafka. Run as many as you like; Kafka shares the partitions.
 */
answerUsage(`
Usage: node bin/trading-server.ts

The trading server on its own: the HTTP API on HOST:PORT, the outbox relay and the execution
consumer. Needs DATABASE_URL and KAFKA_BROKERS (shared with the other processes) and BROKERS
(name=url,...), else BROKER_URL (one broker, primary, default http://127.0.0.1:3200). Run as many as you like.
`);
const settings = separateProcessSettings('trading-server');
const { config, env, logger } = settings;
await runProcess(
  async (lifecycle) => {
    const { pool, bus } = await connectSeparateProcess(settings, lifecycle);
    await ensureExecutionsTopic(bus, config.KAFKA_PARTITIONS);
    await ensureOrderRequestsTopic(bus, config.KAFKA_PARTITIONS);

    const { trading: server } = await composeTradingServer({
      config,
      pool,
      bus,
      logger,
      brokerUrl: env.brokers[0]!.url,
      brokerClients: env.brokers.map(
        ({ url }) => new BrokerClient({ baseUrl: url, apiKey: config.BROKER_API_KEY, timeoutMs: 2_000 }),
      ),
      brokerNames: env.brokers.map(({ name }) => name),
      brokerEndpoints: env.brokers,
    });
    await server.start();
    lifecycle.onStop(() => server.stop());
    const url = await server.app.listen({ port: config.PORT, host: config.HOST });
    process.stdout.write(
      `Trading server: ${url}\nOps API key: ${config.OPS_API_KEY}${config.generated.opsApiKey ? ' (generated)' : ''}\n`,
    );
  },
  { logger },
);
