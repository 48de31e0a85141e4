import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import rateLimit from '@fastify/rate-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger } from '../ledger/index.ts';
import { opsSessions } from '../order-gateway/index.ts';
import { createReconciler } from '../reconciler/index.ts';
import { createTestDatabase, type TestDatabase } from '../test/support/database.ts';
import { opsConsole } from './index.ts';

/**
 * The console on its own, on a real database: what it serves from disk (the session report) and how
 * its guard treats a session that has ended.
 */
describe('ops console pages', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  let reportDir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    reportDir = await mkdtemp(join(tmpdir(), 'session-report-'));
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(rateLimit, { global: false });
    await app.register(opsConsole, {
      pool: db.pool,
      ledger: createLedger({ commissionBps: 10 }),
      reconciler: createReconciler({
        pool: db.pool,
        brokers: [{ name: 'primary', statements: { getStatement: () => Promise.reject(new Error('no broker here')) } }],
        ledger: createLedger({ commissionBps: 10 }),
      }),
      operators: [{ name: 'ops', key: 'ops_console_int_key_0123456789' }],
      sessionReportDir: reportDir,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await rm(reportDir, { recursive: true, force: true });
    await db.drop();
  });

  const withSession = async () => `ops_session=${await opsSessions.open(db.pool, 'ops', 60)}`;

  it('shows the simulated session report from its folder, self-contained, once it exists', async () => {
    const cookie = await withSession();
    const missing = await app.inject({ url: '/ops/reports/session', headers: { cookie } });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('npm run session');
    await writeFile(join(reportDir, 'report.html'), '<!doctype html><title>session 7</title><p>seed 7</p>');
    const shown = await app.inject({ url: '/ops/reports/session', headers: { cookie } });
    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain('seed 7');
    expect(shown.headers['content-security-policy']).toMatch(/^default-src 'none'/);
  });

  it('sends a closed or expired session to the sign-in, whatever page it asks for', async () => {
    const cookie = await withSession();
    expect((await app.inject({ url: '/ops/reports/session', headers: { cookie } })).statusCode).not.toBe(303);
    await db.pool.query("UPDATE ops_sessions SET expires_at = now() - interval '1 second'");
    for (const url of ['/ops', '/ops/reports/session', '/ops/runs', '/ops/orders']) {
      const answer = await app.inject({ url, headers: { cookie } });
      expect([answer.statusCode, answer.headers.location]).toEqual([303, '/ops/login']);
    }
  });
});
