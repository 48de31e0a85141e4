import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstLine, stopInOrder } from './process-lifecycle.ts';

describe('stopping a process', () => {
  it('stops everything, newest first, even past a failed stop, and exits 1 only when one failed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 8 }), async (failures) => {
        const stopped: number[] = [];
        const errors: unknown[] = [];
        const stops = failures.map((fails, index) => async () => {
          stopped.push(index);
          if (fails) throw new Error(`stop ${index} failed`);
        });

        const code = await stopInOrder(stops, (error) => errors.push(error));

        expect(stopped).toEqual(failures.map((_, index) => index).reverse());
        expect(errors).toHaveLength(failures.filter(Boolean).length);
        expect(code).toBe(failures.some(Boolean) ? 1 : 0);
      }),
    );
  });

  it('takes synchronous stops too (removing a file)', async () => {
    const stopped: string[] = [];
    expect(await stopInOrder([() => stopped.push('pool'), () => stopped.push('file')])).toBe(0);
    expect(stopped).toEqual(['file', 'pool']);
  });
});

describe('a fatal error is one line', () => {
  it.each([
    [
      new Error('connect ECONNREFUSED 127.0.0.1:1\n    at TCPConnectWrap.afterConnect'),
      'connect ECONNREFUSED 127.0.0.1:1',
    ],
    ['a thrown string', 'a thrown string'],
    [new Error(''), 'Error'],
  ])('%s → %s', (error, line) => {
    expect(firstLine(error)).toBe(line);
  });
});
