import { describeBusContract } from '../../test/support/bus-contract.ts';
import { newKafkaBus } from '../../test/support/kafka.ts';

describeBusContract('Apache Kafka', () => newKafkaBus('bus-contract'));
