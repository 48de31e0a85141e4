import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tradingDateOf } from '../../broker-adapter/index.ts';
import { OPS_KEY, startTestSystem, type TestSystem } from '../support/system.ts';

const SCREENSHOTS = resolve('reports', 'ops-console');

async function metrics(t: TestSystem): Promise<string> {
  return (await fetch(`${t.system.url}/metrics`)).text();
}
const SECOND_OPERATOR = { name: 'kim', key: 'ops_kim_key_0123456789abcdef' };

/**
 * The ops console in headless Chromium against the whole system with a faulted broker: every report
 * is dropped (drop_report=1) and the open-order check is kept away (an hour), so our orders never
 * hear of their fills and the day's reconciliation finds the breaks that an operator then repairs.
 */
describe('ops console', () => {
  let t: TestSystem;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const outside: string[] = [];
  const pageErrors: string[] = [];
  const failed: string[] = [];
  const date = tradingDateOf(new Date());
  const orderIds: string[] = [];

  beforeAll(async () => {
    t = await startTestSystem({
      env: {
        BROKER_FAULTS: 'drop_report=1',
        OPEN_ORDER_CHECK_SECONDS: '3600',
        OPS_API_KEYS: `${SECOND_OPERATOR.name}:${SECOND_OPERATOR.key}`,
      },
    });
    const { key } = await t.api.openAccount('100000.00');
    for (let i = 1; i <= 3; i++) {
      const placed = await t.api.request<{ id: string }>('POST', '/v1/orders', key, {
        clientOrderId: `console-${i}`,
        symbol: 'AAPL',
        side: 'buy',
        type: 'market',
        quantity: String(i),
      });
      expect(placed.status).toBe(201);
      orderIds.push(placed.body.id);
    }
    // The broker fills them; its reports never reach us.
    for (const id of orderIds) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const atBroker = await t.system.brokerClient.getOrderByClientOrderId(id);
        if (atBroker?.status === 'filled') break;
        if (Date.now() > deadline) throw new Error(`order ${id} not filled at the broker`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    expect(existsSync('/usr/bin/chromium')).toBe(true);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext();
    page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(t.system.url)) outside.push(request.url());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('response', (response) => {
      if (response.status() >= 400)
        failed.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('sends a request without a session to the sign-in, and refuses a wrong key', async () => {
    const bare = await fetch(`${t.system.url}/ops`, { redirect: 'manual' });
    expect(bare.status).toBe(303);
    expect(bare.headers.get('location')).toBe('/ops/login');
    const post = await fetch(`${t.system.url}/ops/runs`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `date=${date}&repair=on`,
    });
    expect(post.status).toBe(303);
    const runs = await t.db.pool.query('SELECT 1 FROM reconciliation_runs');
    expect(runs.rowCount).toBe(0);

    await page.goto(`${t.system.url}/ops`);
    expect(new URL(page.url()).pathname).toBe('/ops/login');
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Sign in to the ops console');
    await page.getByLabel('Ops key').fill('ops_not_a_key_at_all_0123456789');
    await page.keyboard.press('Enter');
    await page.waitForLoadState('load');
    await expect(page.getByRole('alert').textContent()).resolves.toContain('not an operator');
  });

  it('signs in with the keyboard alone, as an operator of OPS_API_KEYS, into an HttpOnly SameSite=Strict session', async () => {
    await page.goto(`${t.system.url}/ops/login`);
    await page.getByLabel('Ops key').focus();
    await page.keyboard.type(SECOND_OPERATOR.key);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${t.system.url}/ops`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Today');
    await expect(page.getByText('Signed in as').textContent()).resolves.toContain('kim');
    const session = (await context.cookies()).find((c) => c.name === 'ops_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ops' });
    // The skip link is the first stop of the keyboard and lands on the content.
    await page.keyboard.press('Tab');
    await expect(page.evaluate('document.activeElement?.textContent')).resolves.toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect(page.evaluate('document.activeElement?.id')).resolves.toBe('main');
    await page.screenshot({ path: resolve(SCREENSHOTS, '1-today.png'), fullPage: true });
  });

  let firstRunUrl = '';
  it('runs the reconciliation of the day and shows the breaks the dropped reports left', async () => {
    await page.getByRole('link', { name: 'Reconciliation' }).click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Reconciliation runs');
    await page.getByLabel('Trading date (New York)').fill(date);
    await page.getByRole('button', { name: 'Reconcile' }).click();
    await page.waitForURL(/\/ops\/runs\/[0-9a-f-]{36}$/);
    firstRunUrl = page.url();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(`Run of ${date}: breaks`);
    const missing = page.getByRole('row').filter({ hasText: 'MISSING_EXECUTION' });
    await expect(missing.count()).resolves.toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: resolve(SCREENSHOTS, '2-run-with-breaks.png'), fullPage: true });
    const scraped = await metrics(t);
    expect(scraped).toMatch(/^reconciliation_open_breaks\{kind="MISSING_EXECUTION"\} [3-9]/m);
    expect(scraped).toMatch(/^trading_orders_live\{status="new"\} 3$/m);
    expect(scraped).toMatch(/^trading_outbox_backlog \d+$/m);
    expect(scraped).toMatch(/^trading_parked_messages 0$/m);
    expect(scraped).toMatch(/^trading_broker_circuit_state 0$/m);
    expect(scraped).toMatch(/^trading_consumer_lag\{group="[^"]+",topic="executions"\} \d+$/m);
  });

  it('opens a break with both sides: our order without fills, the broker with its executions', async () => {
    await page
      .getByRole('row')
      .filter({ hasText: 'MISSING_EXECUTION' })
      .first()
      .getByRole('link', { name: /^Break / })
      .click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toMatch(
      /^Break \d+: MISSING_EXECUTION$/,
    );
    const ours = page.getByRole('region', { name: 'Our side' });
    const broker = page.getByRole('region', { name: "The broker's side" });
    await expect(ours.getByText('Fills').count()).resolves.toBe(1);
    await expect(ours.locator('table').count()).resolves.toBe(1); // the hold's postings only: no fills
    await expect(broker.locator('tbody tr').count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(broker.getByText('filled').count()).resolves.toBeGreaterThanOrEqual(1);
    await page.screenshot({ path: resolve(SCREENSHOTS, '3-break-both-sides.png'), fullPage: true });
  });

  it('refuses a forged form post (no token, a wrong token) and changes nothing', async () => {
    const breakId = /\/ops\/breaks\/(\d+)$/.exec(page.url())![1]!;
    const cookies = await context.cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    for (const body of [`note=forged`, `note=forged&_csrf=not-the-token`]) {
      const forged = await fetch(`${t.system.url}/ops/breaks/${breakId}/resolve`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body,
      });
      expect(forged.status).toBe(403);
    }
    const { rows } = await t.db.pool.query<{ open: boolean }>('SELECT open FROM reconciliation_breaks WHERE id = $1', [
      breakId,
    ]);
    expect(rows[0]!.open).toBe(true);
    const audit = await t.db.pool.query("SELECT 1 FROM ops_audit_log WHERE action = 'break.resolve'");
    expect(audit.rowCount).toBe(0);
  });

  it('repairs from the break, and the day checks clean again', async () => {
    await page.getByRole('button', { name: /^Repair/ }).click();
    await page.waitForURL(/\/ops\/runs\/[0-9a-f-]{36}$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(`Run of ${date}: repaired`);
    await expect(page.getByText(/0 open of \d+ breaks found/).count()).resolves.toBe(1);
    await page.screenshot({ path: resolve(SCREENSHOTS, '4-run-repaired.png'), fullPage: true });
    const repairedPath = new URL(page.url()).pathname;
    await page.getByRole('button', { name: `Check ${date} again` }).click();
    await page.waitForURL((url) => url.pathname !== repairedPath);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(`Run of ${date}: clean`);
    await page.screenshot({ path: resolve(SCREENSHOTS, '5-run-clean.png'), fullPage: true });
    const scraped = await metrics(t);
    expect(scraped).not.toMatch(/^reconciliation_open_breaks\{/m);
    expect(scraped).not.toMatch(/^trading_orders_live\{status="new"\}/m);
    const audit = await t.db.pool.query<{ operator: string; action: string }>(
      "SELECT operator, action FROM ops_audit_log WHERE action LIKE 'reconciliation.%' ORDER BY id",
    );
    expect(audit.rows).toEqual([
      { operator: 'kim', action: 'reconciliation.run' },
      { operator: 'kim', action: 'reconciliation.repair' },
      { operator: 'kim', action: 'reconciliation.run' },
    ]);
  });

  it("resolves a break of the first run with the operator's note, recorded with who and when", async () => {
    await page.goto(firstRunUrl);
    await page
      .getByRole('row')
      .filter({ hasText: 'ORDER_STATUS_MISMATCH' })
      .first()
      .getByRole('link', { name: /^Break / })
      .click();
    await page.getByLabel("Operator's note").fill('superseded: the repair run of the same date closed it');
    await page.getByRole('button', { name: 'Resolve with this note' }).click();
    await page.waitForLoadState('load');
    await expect(page.locator('.decision').textContent()).resolves.toMatch(/Resolved by kim at .*superseded/);
    const breakId = /\/ops\/breaks\/(\d+)$/.exec(page.url())![1]!;
    const { rows } = await t.db.pool.query<{ open: boolean; resolved_by: string; note: string }>(
      'SELECT open, resolved_by, note FROM reconciliation_breaks WHERE id = $1',
      [breakId],
    );
    expect(rows[0]).toEqual({
      open: false,
      resolved_by: 'kim',
      note: 'superseded: the repair run of the same date closed it',
    });
    const audit = await t.db.pool.query("SELECT operator, target FROM ops_audit_log WHERE action = 'break.resolve'");
    expect(audit.rows).toEqual([{ operator: 'kim', target: breakId }]);
  });

  it('finds an order by its client order id and reads its whole timeline', async () => {
    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByLabel('Client order id').fill('console-2');
    await page.getByRole('button', { name: 'Search' }).click();
    const result = page.locator('#results').getByRole('link', { name: 'console-2' });
    await result.waitFor();
    await expect(page.locator('#results tbody tr').count()).resolves.toBe(1);
    await result.click();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Order console-2');
    const kinds = await page
      .locator('section[aria-labelledby="timeline-h"] tbody tr td:nth-child(3)')
      .allTextContents();
    expect(kinds[0]).toBe('placed');
    expect(kinds).toContain('submit.acknowledged');
    expect(kinds).toContain('fill');
    expect(kinds).toContain('posting hold');
    expect(kinds).toContain('posting fill');
    expect(kinds).toContain('event accepted');
    expect(kinds).toContain('event fill');
    expect(kinds.at(-1)).toBe('status filled');
    await page.screenshot({ path: resolve(SCREENSHOTS, '6-order-timeline.png'), fullPage: true });
  });

  it('answers the same reads as JSON to an ops key, a page at a time, and refuses bad input with 400', async () => {
    const firstRunId = /\/ops\/runs\/([0-9a-f-]{36})$/.exec(firstRunUrl)![1]!;
    type RunPage = { runs: { id: string; status: string }[]; next: string | null };
    const first = await t.api.request<RunPage>('GET', '/v1/ops/reconciliations?limit=2', OPS_KEY);
    expect(first.status).toBe(200);
    expect(first.body.runs.map((r) => r.status)).toEqual(['clean', 'repaired']);
    const second = await t.api.request<RunPage>(
      'GET',
      `/v1/ops/reconciliations?limit=2&after=${first.body.next}`,
      OPS_KEY,
    );
    expect(second.body).toEqual({ runs: [expect.objectContaining({ id: firstRunId, status: 'breaks' })], next: null });
    const forged = await t.api.request<{ error: { code: string } }>(
      'GET',
      '/v1/ops/reconciliations?after=bm9wZQ',
      OPS_KEY,
    );
    expect(forged).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });

    type BreakPage = {
      breaks: { id: string; open: boolean; resolvedBy: string | null; runId: string }[];
      next: string | null;
    };
    const resolved = await t.api.request<BreakPage>('GET', `/v1/ops/breaks?runId=${firstRunId}&status=closed`, OPS_KEY);
    expect(resolved.body.breaks).toEqual([
      expect.objectContaining({ open: false, resolvedBy: 'kim', runId: firstRunId }),
    ]);
    const one = await t.api.request('GET', `/v1/ops/breaks/${resolved.body.breaks[0]!.id}`, OPS_KEY);
    expect(one.body).toEqual(resolved.body.breaks[0]);
    expect((await t.api.request('GET', '/v1/ops/breaks/999999999', OPS_KEY)).status).toBe(404);

    type OrderPage = { orders: { id: string; clientOrderId: string; status: string }[]; next: string | null };
    const found = await t.api.request<OrderPage>('GET', '/v1/ops/orders?clientOrderId=console-1', OPS_KEY);
    expect(found.body.orders.map((o) => [o.clientOrderId, o.status])).toEqual([['console-1', 'filled']]);
    const paged = await t.api.request<OrderPage>('GET', `/v1/ops/orders?symbol=AAPL&date=${date}&limit=2`, OPS_KEY);
    const rest = await t.api.request<OrderPage>(
      'GET',
      `/v1/ops/orders?symbol=AAPL&date=${date}&limit=2&after=${paged.body.next}`,
      OPS_KEY,
    );
    expect([...paged.body.orders, ...rest.body.orders].map((o) => o.clientOrderId)).toEqual([
      'console-3',
      'console-2',
      'console-1',
    ]);
    for (const bad of ['status=bogus', 'accountId=not-an-id', 'date=2026-13-01', 'limit=0', 'unknown=1']) {
      const answer = await t.api.request<{ error: { code: string } }>('GET', `/v1/ops/orders?${bad}`, OPS_KEY);
      expect(answer, bad).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    }
    const timeline = await t.api.request<{ entries: { source: string; kind: string }[] }>(
      'GET',
      `/v1/ops/orders/${orderIds[0]}/timeline`,
      OPS_KEY,
    );
    expect(timeline.body.entries.map((e) => e.source)).toEqual(
      expect.arrayContaining(['order', 'request-server', 'broker', 'ledger', 'events']),
    );
    expect(
      (await t.api.request('GET', '/v1/ops/orders/00000000-0000-4000-8000-000000000000/timeline', OPS_KEY)).status,
    ).toBe(404);
    expect((await t.api.request('GET', '/v1/ops/alarms', OPS_KEY)).body).toEqual({ alarms: [], next: null });
    const accounts = await t.api.request<{ accounts: { openOrders: number }[]; next: string | null }>(
      'GET',
      '/v1/ops/accounts?limit=1',
      OPS_KEY,
    );
    expect(accounts.body).toEqual({ accounts: [expect.objectContaining({ openOrders: 0 })], next: null });

    expect((await fetch(`${t.system.url}/v1/ops/orders`)).status).toBe(401);
    expect(await metrics(t)).toMatch(/^trading_http_errors_total\{code="UNAUTHORIZED",status="401"\} [1-9]/m);
  });

  it('answers bad input on its pages with a 4xx page that changes nothing, never a 5xx', async () => {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const runsBefore = await t.db.pool.query('SELECT 1 FROM reconciliation_runs');
    const cases: [string, string, string?, string?][] = [
      ['GET', '/ops/orders?accountId=not-an-id'],
      ['GET', '/ops/orders?status=nope&limit=abc'],
      ['GET', '/ops/runs/not-a-run'],
      ['GET', '/ops/runs?date=2026-02-31'],
      ['GET', '/ops/breaks/0'],
      ['GET', '/ops/breaks/999999999'],
      ['GET', '/ops/orders/00000000-0000-4000-8000-000000000000'],
      ['GET', '/ops/accounts?after=%00%00'],
      ['POST', '/ops/runs', 'text/plain', 'date=2026-11-30'],
      ['POST', '/ops/runs', 'application/json', '{"date": '],
      ['POST', '/ops/runs', 'application/x-www-form-urlencoded', `date=${date}&date=${date}`],
      ['POST', '/ops/breaks/1/resolve', 'application/x-www-form-urlencoded', 'note='],
    ];
    for (const [method, path, type, body] of cases) {
      const answer = await fetch(`${t.system.url}${path}`, {
        method,
        redirect: 'manual',
        headers: { cookie, ...(type ? { 'content-type': type } : {}) },
        body,
      });
      expect(answer.status, `${method} ${path} ${body ?? ''}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `${method} ${path} ${body ?? ''}`).toBeLessThan(500);
    }
    const runsAfter = await t.db.pool.query('SELECT 1 FROM reconciliation_runs');
    expect(runsAfter.rowCount).toBe(runsBefore.rowCount);
  });

  it('loaded nothing from outside the server, without a script error or a failed load but the wrong key', () => {
    expect(outside).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(failed).toEqual(['401 POST /ops/login']);
  });

  it('signs out: the session is gone for good', async () => {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${t.system.url}/ops/login`);
    const after = await fetch(`${t.system.url}/ops`, { redirect: 'manual', headers: { cookie } });
    expect(after.status).toBe(303);
  });
});
