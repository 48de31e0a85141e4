import { describeBusContract } from '../../test/support/bus-contract.ts';
import { InProcessBus } from './in-process-bus.ts';

describeBusContract('in-process', () => new InProcessBus());
