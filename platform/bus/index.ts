export type {
  Bus,
  BusMessage,
  BatchHandler,
  ConsumeOptions,
  ConsumerLag,
  OutgoingMessage,
  Subscription,
  TopicSpec,
} from './bus.ts';
export { messageJson, partitionFor, retryDelayMs } from './bus.ts';
export { withDeadLetters, type DeadLetterOptions } from './dead-letter.ts';
export { InProcessBus } from './in-process-bus.ts';
export { KafkaBus, type KafkaBusOptions } from './kafka-bus.ts';
