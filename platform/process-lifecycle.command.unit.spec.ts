import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const fixture = join(import.meta.dirname, 'test', 'command-fixture.ts');

function runFixture(...args: string[]) {
  return spawnSync(process.execPath, [fixture, ...args], { encoding: 'utf8', timeout: 20_000 });
}

/** Starts the fixture in `wait` mode and answers once it has opened its resources. */
async function waitingFixture(windDownMs: number) {
  const child = spawn(process.execPath, [fixture, 'wait', String(windDownMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve) => {
    const check = () => (stdout.includes('waiting') ? resolve() : setTimeout(check, 20));
    check();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('runCommand: the lifecycle of a command that runs to an end', () => {
  it('closes what it opened, newest first, and exits with the code the command answered', () => {
    const result = runFixture('return');
    expect(result.stdout).toBe('closed bus\nclosed database\n');
    expect(result.status).toBe(0);
  });

  it('prints a failure as its one described line, closes everything, and exits with the failure code', () => {
    const result = runFixture('throw');
    expect(result.stderr).toBe('fixture failed: Error: broker unreachable\n    at a stack line nobody should see\n');
    expect(result.stdout).toBe('closed bus\nclosed database\n');
    expect(result.status).toBe(2);
  });

  it('asks the command to stop on SIGINT, then closes and exits with its answer', async () => {
    const fixtureProcess = await waitingFixture(0);
    fixtureProcess.child.kill('SIGINT');
    expect(await fixtureProcess.exited).toBe(3);
    expect(fixtureProcess.output().stderr).toContain('fixture: SIGINT: stopping and cleaning up');
    expect(fixtureProcess.output().stdout).toBe('waiting\nclosed bus\nclosed database\n');
  });

  it('exits 130 at once on a second signal while the command winds down', async () => {
    const fixtureProcess = await waitingFixture(30_000);
    fixtureProcess.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    fixtureProcess.child.kill('SIGTERM');
    expect(await fixtureProcess.exited).toBe(130);
    expect(fixtureProcess.output().stdout).toBe('waiting\n');
  });
});
