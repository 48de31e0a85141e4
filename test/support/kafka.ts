import { inject } from 'vitest';
import { KafkaBus, silentLogger, type Logger } from '../../platform/index.ts';

/** The run's real Kafka broker addresses, from the global setup. */
export function kafkaBrokers(): string[] {
  return inject('kafkaBrokers');
}

/** A bus on the run's real Kafka. */
export function newKafkaBus(clientId = 'test', logger: Logger = silentLogger): KafkaBus {
  return new KafkaBus({ brokers: kafkaBrokers(), clientId, logger });
}

export { uniqueName } from './names.ts';
