import type { Bus } from '../../platform/bus/bus.ts';
import { EXECUTIONS_TOPIC } from './execution-report.schemas.ts';

/** Creates the `executions` topic when it is missing; reports are keyed by account, so per-account order holds. */
export async function ensureExecutionsTopic(bus: Bus, partitions: number, topic = EXECUTIONS_TOPIC): Promise<void> {
  await bus.ensureTopics([{ name: topic, partitions }]);
}
