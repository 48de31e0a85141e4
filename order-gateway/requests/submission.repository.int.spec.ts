import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.ts';
import type { CancelOrderMessage, ReplaceOrderMessage, SubmitOrderMessage } from '../orders/order-request.schemas.ts';
import { advance, newSubmission } from './submission.machine.ts';
import { submissionRepository } from './submission.repository.ts';
import { CLAIM_OPEN_ORDER_CHECKS, ORDERS_WITHOUT_SUBMISSION } from './submission.sql.ts';

/** The request server's table on real PostgreSQL: versions settle races, numbered cancels take over. */
describe('submission repository', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const aSubmit = (): SubmitOrderMessage => ({
    type: 'SubmitOrder',
    orderId: randomUUID(),
    accountId: randomUUID(),
    symbol: 'AAPL',
    side: 'buy',
    orderType: 'market',
    quantity: '1',
    limitPrice: null,
    collarPrice: '200',
    timeInForce: 'day',
    extendedHours: false,
    expiresAt: null,
  });

  async function row(orderId: string, kind: 'submit' | 'cancel') {
    const { rows } = await db.pool.query<{ state: string; version: number; request_no: number }>(
      'SELECT state, version, request_no FROM broker_submissions WHERE order_id = $1 AND kind = $2',
      [orderId, kind],
    );
    return rows[0];
  }

  it('settles only from the version it read: a second settle of the same claim changes nothing', async () => {
    const request = aSubmit();
    await submissionRepository.insert(db.pool, request);
    const sending = advance(newSubmission(), { type: 'Send' });
    const claimed = await submissionRepository.save(
      db.pool,
      { order_id: request.orderId, kind: 'submit' },
      0,
      sending,
      0,
    );
    expect(claimed).toBe(1);
    // The lease ran out and another request server settled it first.
    const theirs = advance(sending, { type: 'Accepted', brokerOrderId: 'B1' });
    expect(await submissionRepository.save(db.pool, { order_id: request.orderId, kind: 'submit' }, 1, theirs, 0)).toBe(
      2,
    );
    const ours = advance(sending, { type: 'OutcomeUnknown', reason: 'timeout' });
    expect(
      await submissionRepository.save(db.pool, { order_id: request.orderId, kind: 'submit' }, 1, ours, 0),
    ).toBeNull();
    expect(await row(request.orderId, 'submit')).toMatchObject({ state: 'acknowledged', version: 2 });
  });

  it('lets a later cancel take over a refused one, and ignores a redelivered or older one', async () => {
    const orderId = randomUUID();
    const cancel = (requestNo: number): CancelOrderMessage => ({
      type: 'CancelOrder',
      orderId,
      accountId: randomUUID(),
      requestNo,
    });
    await submissionRepository.insert(db.pool, cancel(1));
    const refused = advance(advance(newSubmission(), { type: 'Send' }), {
      type: 'Refused',
      code: 'TOO_LATE_TO_CANCEL',
      reason: 'late',
    });
    await submissionRepository.save(db.pool, { order_id: orderId, kind: 'cancel' }, 0, refused, 0);
    await submissionRepository.insert(db.pool, cancel(1));
    expect(await row(orderId, 'cancel')).toMatchObject({ state: 'refused', request_no: 1, version: 1 });

    await submissionRepository.insert(db.pool, cancel(2));
    expect(await row(orderId, 'cancel')).toMatchObject({ state: 'queued', request_no: 2, version: 2 });
    await submissionRepository.insert(db.pool, cancel(1));
    expect(await row(orderId, 'cancel')).toMatchObject({ state: 'queued', request_no: 2, version: 2 });
  });

  it('finds silent live orders and lost requests through the partial index on live orders, not by reading history', async () => {
    const accountId = randomUUID();
    await db.pool.query("INSERT INTO gateway_accounts (id, name) VALUES ($1, 'history')", [accountId]);
    // 50,000 finished orders of history, and a handful of live ones.
    await db.pool.query(
      `INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, worst_price,
                           time_in_force, extended_hours, status, machine_version, snapshot, updated_at)
       SELECT gen_random_uuid(), $1, 'h-' || g, 'x', 'AAPL', 'buy', 'market', 1, 200, 'day', false,
              CASE WHEN g <= 5 THEN 'new' ELSE 'filled' END, 'order@1', '{}'::jsonb, now() - interval '1 hour'
       FROM generate_series(1, 50000) g`,
      [accountId],
    );
    await db.pool.query('ANALYZE orders');
    const plan = async (sql: string, params: unknown[]) =>
      JSON.stringify((await db.pool.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows);
    const checks = await plan(CLAIM_OPEN_ORDER_CHECKS, [5, true, false, 64, 30_000]);
    expect(checks).toContain('orders_live_by_activity');
    expect(checks).not.toMatch(/"Seq Scan"[^}]*"Relation Name":"orders"/);
    const redrive = await plan(ORDERS_WITHOUT_SUBMISSION, [5, 100]);
    expect(redrive).toContain('orders_live_by_activity');
    expect(redrive).not.toMatch(/"Seq Scan"[^}]*"Relation Name":"orders"/);

    const claimed = await submissionRepository.claimOpenOrderChecks(db.pool, {
      silentSeconds: 5,
      regularOpen: true,
      extendedOpen: false,
      limit: 64,
      leaseMs: 30_000,
    });
    expect(claimed).toHaveLength(5);
    // Claimed: not due again until its next check, unless the order changes.
    expect(
      await submissionRepository.claimOpenOrderChecks(db.pool, {
        silentSeconds: 5,
        regularOpen: true,
        extendedOpen: false,
        limit: 64,
        leaseMs: 30_000,
      }),
    ).toHaveLength(0);
  });

  it('finds a replace lost on its way, and a replacement made at the broker is not missing its submit', async () => {
    const accountId = randomUUID();
    await db.pool.query("INSERT INTO gateway_accounts (id, name) VALUES ($1, 'replaces')", [accountId]);
    const [oldId, newId] = [randomUUID(), randomUUID()];
    const replacement = {
      orderId: newId,
      clientOrderId: 'r-1',
      quantity: '5',
      limitPrice: '1.5',
      timeInForce: 'gtc',
      topUpHoldId: null,
      fingerprint: 'f',
    };
    const insertOrder = (id: string, status: string, context: unknown, replaces: string | null) =>
      db.pool.query(
        `INSERT INTO orders (id, account_id, client_order_id, request_hash, symbol, side, type, quantity, limit_price,
                             worst_price, time_in_force, extended_hours, status, machine_version, snapshot,
                             broker_order_id, replaces, updated_at)
         VALUES ($1::uuid, $2, $1::text, 'x', 'AAPL', 'buy', 'limit', 2, 1, 1, 'gtc', false, $3, 'order@1', $4,
                 'B-' || $1::text, $5,
                 now() - interval '1 hour')`,
        [id, accountId, status, JSON.stringify({ value: {}, context }), replaces],
      );
    await insertOrder(oldId, 'pending_replace', { replaceRequests: 2, replace: replacement }, null);
    await submissionRepository.insert(db.pool, { ...aSubmit(), orderId: oldId, accountId });
    const replaceRequest = (requestNo: number): ReplaceOrderMessage => ({
      type: 'ReplaceOrder',
      orderId: oldId,
      accountId,
      requestNo,
      newOrderId: newId,
      quantity: '5',
      limitPrice: '1.5',
      timeInForce: 'gtc',
    });
    // The first replace was stored (and refused); the second never arrived.
    await submissionRepository.insert(db.pool, replaceRequest(1));
    // A replacement the broker made, being canceled: it never had a submit, and needs none.
    const madeAtBroker = randomUUID();
    await insertOrder(madeAtBroker, 'pending_cancel', { cancelRequests: 1 }, oldId);
    await submissionRepository.insert(db.pool, { type: 'CancelOrder', orderId: madeAtBroker, accountId, requestNo: 1 });

    const lost = await submissionRepository.ordersWithoutSubmission(db.pool, 5, 100);
    const mine = lost.filter((order) => order.account_id === accountId);
    expect(mine.map((order) => order.id)).toEqual([oldId]);
    expect(mine[0]).toMatchObject({ submit_missing: false, replace_request_no: 2, pending_replace: replacement });

    await submissionRepository.insert(db.pool, replaceRequest(2));
    const after = await submissionRepository.ordersWithoutSubmission(db.pool, 5, 100);
    expect(after.filter((order) => order.account_id === accountId)).toEqual([]);
  });
});
