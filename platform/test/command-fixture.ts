import { runCommand } from '../process-lifecycle.ts';

/*
 * A command for process-lifecycle.command.unit.spec.ts: `node command-fixture.ts <mode>` opens two
 * "resources" whose closing it reports on stdout, then returns, throws, or waits to be interrupted.
 */
const mode = process.argv[2];
await runCommand(
  async ({ onStop, signal }) => {
    onStop(() => process.stdout.write('closed database\n'));
    onStop(() => process.stdout.write('closed bus\n'));
    if (mode === 'throw') throw new Error('broker unreachable\n    at a stack line nobody should see');
    if (mode === 'wait') {
      process.stdout.write('waiting\n');
      // The work it waits on: an open handle, as a real command's sockets are.
      const working = setInterval(() => {}, 1_000);
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      clearInterval(working);
      // A command that takes its time to wind down, so that a second signal can cut it short.
      await new Promise((resolve) => setTimeout(resolve, Number(process.argv[3] ?? 0)));
      return 3;
    }
    return 0;
  },
  { name: 'fixture', failureCode: 2, describeFailure: (error) => `fixture failed: ${String(error)}` },
);
