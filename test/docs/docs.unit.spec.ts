import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_CODES, TRADING_API_ERRORS } from '../../order-gateway/error-codes.ts';
import { RECONCILER_ERRORS } from '../../reconciler/index.ts';
import { buildDocumentedApps, routesOf, type DocumentedApps } from './documented-apps.ts';

/*
 * docs/ is kept true by the code: every error code, environment variable and route that exists in
 * the code is documented, and everything documented exists (except under a "Planned" heading).
 * A failure lists exactly what is missing where; docs/README.md says how to add an entry.
 */

const root = resolve(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['bin', 'broker-adapter', 'ledger', 'order-gateway', 'platform', 'reconciler', 'test/support'];

function sourceFiles(dir = root, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative(root, path);
    if (statSync(path).isDirectory()) {
      if (SOURCE_DIRS.some((d) => rel === d || rel.startsWith(`${d}/`) || d.startsWith(`${rel}/`))) {
        sourceFiles(path, found);
      }
    } else if (name.endsWith('.ts') && !name.endsWith('.spec.ts') && SOURCE_DIRS.some((d) => rel.startsWith(`${d}/`))) {
      found.push(rel);
    }
  }
  return found;
}

const sources = new Map(sourceFiles().map((file) => [file, readFileSync(join(root, file), 'utf8')]));
const doc = (name: string) => readFileSync(join(root, 'docs', name), 'utf8');

/** A markdown file cut at its `##` headings; sections whose heading says "Planned" are apart. */
function sections(markdown: string): { heading: string; body: string; planned: boolean }[] {
  return markdown.split(/^(?=## )/m).map((part) => {
    const heading = part.startsWith('## ') ? part.slice(3, part.indexOf('\n')).trim() : '';
    return { heading, body: part, planned: /planned/i.test(heading) };
  });
}

/** First cells of table rows that are one backticked name: `| \`NAME\` | ... |` → [NAME, rest of row]. */
function tableRows(markdown: string, name: RegExp): [string, string][] {
  const rows: [string, string][] = [];
  for (const line of markdown.split('\n')) {
    const match = /^\|\s*`([^`]+)`\s*\|(.*)$/.exec(line);
    if (match && name.test(match[1]!)) rows.push([match[1]!, match[2]!]);
  }
  return rows;
}

function where(files: Iterable<string>): string {
  return [...files].slice(0, 3).join(', ');
}

/** "missing in X: A (found in f), B" — the list a reader acts on. */
function report(title: string, entries: Map<string, Set<string>> | string[]): string {
  const lines = Array.isArray(entries)
    ? entries
    : [...entries].map(([name, files]) => (files.size > 0 ? `${name} (in ${where(files)})` : name));
  return lines.length === 0 ? '' : `${title}:\n  ${lines.sort().join('\n  ')}`;
}

function add(map: Map<string, Set<string>>, name: string, file: string) {
  map.set(name, (map.get(name) ?? new Set()).add(file));
}

describe('docs/configuration.md', () => {
  /**
   * Variables in code: every `process.env.NAME`, and every key of a zod object in a file that reads
   * an environment (NodeJS.ProcessEnv or process.env): the configuration schemas.
   */
  function variablesInCode(): Map<string, Set<string>> {
    const found = new Map<string, Set<string>>();
    for (const [file, text] of sources) {
      for (const match of text.matchAll(/process\.env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g)) {
        add(found, (match[1] ?? match[2])!, file);
      }
      if (!/NodeJS\.ProcessEnv|process\.env/.test(text)) continue;
      for (const object of text.matchAll(/z\s*\.object\(\{([\s\S]*?)\n\}\)/g)) {
        for (const key of object[1]!.matchAll(/^\s+([A-Z][A-Z0-9_]*):\s/gm)) add(found, key[1]!, file);
      }
    }
    return found;
  }

  const parts = sections(doc('configuration.md'));
  const documented = new Set(
    parts.filter((p) => !p.planned).flatMap((p) => tableRows(p.body, /^[A-Z]/).map(([n]) => n)),
  );
  const planned = new Set(parts.filter((p) => p.planned).flatMap((p) => tableRows(p.body, /^[A-Z]/).map(([n]) => n)));
  const inCode = variablesInCode();

  it('documents every environment variable the code reads', () => {
    const missing = new Map([...inCode].filter(([name]) => !documented.has(name)));
    expect(report('variables read in code but missing from a table in docs/configuration.md', missing)).toBe('');
  });

  it('documents no variable the code does not read', () => {
    const stale = [...documented].filter((name) =>
      name.includes('<')
        ? ![...sources.values()].some((text) => text.includes(name.slice(0, name.indexOf('<'))))
        : !inCode.has(name),
    );
    expect(
      report('variables in docs/configuration.md that no code reads (remove, or move under "Planned")', stale),
    ).toBe('');
  });

  it('moves a planned variable out of "Planned" once the code reads it', () => {
    const done = [...planned].filter((name) => inCode.has(name));
    expect(report('variables under "Planned" in docs/configuration.md that the code now reads', done)).toBe('');
  });

  it('finds the variables of the configuration schemas (the scan itself works)', () => {
    for (const name of ['PORT', 'DATABASE_URL', 'COMMISSION_BPS', 'BROKER_CLOCK', 'BROKER_URL', 'FILL_RECEIVER_PORT']) {
      expect(inCode.has(name), name).toBe(true);
    }
  });
});

describe('docs/api.md: error codes', () => {
  /** The catalogs of the trading API's routes, with their statuses. */
  const catalog: Record<string, number> = { ...TRADING_API_ERRORS, ...RECONCILER_ERRORS };

  /** Codes written in the code where an error is made: `new XError('CODE'`, `errorBody('CODE'`, `code: 'CODE'`. */
  function codesInCode(): Map<string, Set<string>> {
    const found = new Map<string, Set<string>>();
    for (const [file, text] of sources) {
      // The ledger's invariant checks name what they found (docs/operations.md), not an API answer;
      // test support (a faulty proxy in front of the broker) answers for no one.
      if (file.endsWith('.invariants.ts') || file.startsWith('test/')) continue;
      for (const match of text.matchAll(
        /(?:\w*(?<!Config)Error|errorBody)\(\s*'([A-Z][A-Z0-9_]+)'|\bcode:\s*'([A-Z][A-Z0-9_]+)'/g,
      )) {
        add(found, (match[1] ?? match[2])!, file);
      }
    }
    for (const code of Object.keys(catalog)) if (!found.has(code)) found.set(code, new Set());
    return found;
  }

  const parts = sections(doc('api.md'));
  const rows = parts.filter((p) => !p.planned).flatMap((p) => tableRows(p.body, /^[A-Z][A-Z0-9_]+$/));
  const documented = new Set(rows.map(([code]) => code));
  const planned = new Set(
    parts.filter((p) => p.planned).flatMap((p) => tableRows(p.body, /^[A-Z][A-Z0-9_]+$/).map(([c]) => c)),
  );
  const inCode = codesInCode();

  it('documents every error code the code answers with', () => {
    const missing = new Map([...inCode].filter(([code]) => !documented.has(code)));
    expect(report('error codes in code but missing from an error-code table in docs/api.md', missing)).toBe('');
  });

  it('documents no error code the code does not have', () => {
    const stale = [...documented].filter((code) => !inCode.has(code));
    expect(
      report('error codes in docs/api.md that no code answers with (remove, or move under "Planned")', stale),
    ).toBe('');
  });

  it('moves a planned code out of "Planned" once the code answers with it', () => {
    const done = [...planned].filter((code) => inCode.has(code));
    expect(report('error codes under "Planned" in docs/api.md that the code now answers with', done)).toBe('');
  });

  it("gives each catalogued code the catalog's HTTP status", () => {
    const table = parts.find((p) => p.heading === 'Error codes');
    expect(table, 'docs/api.md has an "## Error codes" section').toBeDefined();
    const wrong = tableRows(table!.body, /^[A-Z]/)
      .filter(([code, rest]) => catalog[code] !== undefined && rest.split('|')[0]!.trim() !== String(catalog[code]))
      .map(([code, rest]) => `${code}: docs say ${rest.split('|')[0]!.trim()}, the code answers ${catalog[code]}`);
    expect(report('statuses in docs/api.md "Error codes" that differ from the code', wrong)).toBe('');
  });

  it('catalogs every code the trading API components make (it is the OpenAPI enum)', () => {
    const tradingSide = ['order-gateway/', 'ledger/', 'reconciler/', 'platform/'];
    const uncatalogued = new Map(
      [...inCode]
        .map(
          ([code, files]) =>
            [code, new Set([...files].filter((f) => tradingSide.some((d) => f.startsWith(d))))] as const,
        )
        // Refusal codes travel in an order's `lastRejection`, not in an error body: not in the enum.
        .filter(([code, files]) => files.size > 0 && catalog[code] === undefined && !(code in REFUSAL_CODES)),
    );
    expect(
      report(
        'codes made in the trading API but missing from order-gateway/error-codes.ts or reconciler/runs/reconciliation.errors.ts',
        uncatalogued,
      ),
    ).toBe('');
  });
});

describe('docs/api.md: routes', () => {
  let apps: DocumentedApps;
  beforeAll(async () => {
    apps = await buildDocumentedApps();
  });
  afterAll(() => apps.close());

  const parts = sections(doc('api.md'));
  /** `METHOD /path` in backticks at the start of a heading or as a table row's first cell. */
  const routesIn = (body: string) =>
    [...body.matchAll(/^(?:#{2,4} |\|\s*)`((?:GET|POST|PUT|PATCH|DELETE) \/[^`\s]*)`/gm)].map((m) => m[1]!);
  const inSection = (pick: (heading: string) => boolean) =>
    new Set(parts.filter((p) => !p.planned && pick(p.heading)).flatMap((p) => routesIn(p.body)));
  const isBroker = (heading: string) => /^Simulated broker/i.test(heading);
  const isFillReceiver = (heading: string) => /^Fill receiver/i.test(heading);
  const planned = new Set(parts.filter((p) => p.planned).flatMap((p) => routesIn(p.body)));

  it.each([
    ['trading API', 'trading', (h: string) => !isBroker(h) && !isFillReceiver(h)],
    ['simulated broker', 'broker', isBroker],
    ['fill receiver', 'fillReceiver', isFillReceiver],
  ] as const)('documents every route of the %s, and no other', (label, key, pick) => {
    const served = new Set(routesOf(apps[key]));
    const documented = inSection(pick);
    const missing = [...served].filter((route) => !documented.has(route));
    const stale = [...documented].filter((route) => !served.has(route));
    const done = [...planned].filter((route) => served.has(route) && key === 'trading');
    expect(
      [
        report(
          `routes the ${label} serves but docs/api.md does not document (a heading "### \`METHOD /path\`")`,
          missing,
        ),
        report(`routes docs/api.md documents for the ${label} that it does not serve`, stale),
        report('routes under "Planned" in docs/api.md that are now served', done),
      ]
        .filter(Boolean)
        .join('\n'),
    ).toBe('');
  });
});

describe('the OpenAPI document', () => {
  let apps: DocumentedApps;
  let openapi: {
    paths: Record<string, Record<string, { responses: Record<string, { description: string; content?: unknown }> }>>;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };
  beforeAll(async () => {
    apps = await buildDocumentedApps();
    const answer = await apps.trading.inject({ method: 'GET', url: '/docs/json' });
    expect(answer.statusCode).toBe(200);
    openapi = answer.json();
  });
  afterAll(() => apps.close());

  it('is served at /docs and /docs/json alike', async () => {
    const docs = await apps.trading.inject({ method: 'GET', url: '/docs' });
    expect(docs.json()).toEqual(openapi);
  });

  it('describes every response; none is a "Default Response"', () => {
    const defaults = Object.entries(openapi.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, op]) =>
        Object.entries(op.responses)
          .filter(([, response]) => !response.description || response.description === 'Default Response')
          .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
      ),
    );
    expect(defaults).toEqual([]);
  });

  it('lists each schema once: no input copy beside its output, none unused', () => {
    const names = Object.keys(openapi.components.schemas);
    const text = JSON.stringify(openapi.paths) + JSON.stringify(openapi.components);
    expect(names.filter((name) => names.includes(`${name}Input`))).toEqual([]);
    expect(names.filter((name) => !text.includes(`"#/components/schemas/${name}"`))).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining(['Order', 'PlaceOrderRequest', 'Error', 'Account', 'ReconciliationRun']),
    );
  });

  it('gives the error code the enum of every code the API answers with', () => {
    const error = openapi.components.schemas.Error as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(error.properties.error.properties.code.enum).toEqual(
      Object.keys({ ...TRADING_API_ERRORS, ...RECONCILER_ERRORS }).sort(),
    );
  });

  it('gives decimal strings a pattern and an example, in requests and in answers', () => {
    const order = openapi.components.schemas.Order!.properties as Record<
      string,
      { pattern?: string; example?: string }
    >;
    const request = openapi.components.schemas.PlaceOrderRequest!.properties as Record<
      string,
      { pattern?: string; example?: string }
    >;
    for (const field of [
      order.quantity,
      order.filledQuantity,
      order.commission,
      request.quantity,
      request.limitPrice,
    ]) {
      expect(field?.pattern).toBeDefined();
      expect(new RegExp(field!.pattern!).test(field!.example!)).toBe(true);
      expect(new RegExp(field!.pattern!).test('1e5')).toBe(false);
    }
  });
});
