import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, freePort, startEmbeddedPostgres } from './embedded-postgres.ts';

describe('embedded PostgreSQL that fails to start', () => {
  it('rejects with one line carrying PostgreSQL’s own reason, not with undefined', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pg-port-taken-'));
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const error = await startEmbeddedPostgres({ dir, port, persistent: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      const message = (error as Error).message;
      expect(message).toMatch(/^embedded PostgreSQL in \S+ did not start: .*FATAL/);
      expect(message).not.toContain('\n');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
