export type { Bus, BusMessage, BatchHandler, ConsumeOptions, OutgoingMessage, Subscription, TopicSpec } from './bus.ts';
export { messageJson, partitionFor, retryDelayMs } from './bus.ts';
export { InProcessBus } from './in-process-bus.ts';
export { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
