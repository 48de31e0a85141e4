/**
 * Makes the generated OpenAPI document worth reading: each schema listed once, under its own name;
 * the error code as an enum of every code the API answers with; a description on every response.
 * The schemas stay the ones that validate; only the document is edited.
 */

type Json = Record<string, unknown>;

const SUCCESS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted: the request is taken and finishes asynchronously',
  '204': 'No content',
};

const ERROR: Record<string, string> = {
  '400': 'The request is not valid (malformed JSON, a wrong field or parameter)',
  '401': 'No valid API key for this route (Authorization: Bearer <key>)',
  '404': 'Not found, or not yours',
  '409': 'Conflicts with what exists',
  '413': 'The body is too large',
  '415': 'The body is not JSON',
  '422': 'Valid, but the business rules refuse it',
  '429': 'Too many requests',
  '500': 'Internal error',
  '503': 'A dependency is unavailable; try again shortly',
};

export function tidyOpenApi<T extends object>(document: T, errorCodes: Readonly<Record<string, number>>): T {
  const doc = structuredClone(document) as Json & { paths?: Json; components?: { schemas?: Record<string, Json> } };
  const schemas = doc.components?.schemas ?? {};

  // Inline copies of a named schema (a component's own error body, say) point at the one name.
  const byText = new Map(Object.entries(schemas).map(([name, schema]) => [JSON.stringify(schema), name]));
  const operations = Object.values(doc.paths ?? {}).flatMap((item) => Object.values(item as Json) as Json[]);
  for (const operation of operations) {
    for (const content of mediaTypes(operation)) {
      const name = byText.get(JSON.stringify(content.schema));
      if (name) content.schema = { $ref: `#/components/schemas/${name}` };
    }
  }

  // The zod provider lists every registered schema twice (as input and as output); keep the ones used.
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') {
        const name = inner.replace('#/components/schemas/', '');
        if (!used.has(name)) {
          used.add(name);
          visit(schemas[name]);
        }
      } else visit(inner);
    }
  };
  visit(doc.paths);
  const renames = new Map<string, string>();
  for (const name of Object.keys(schemas)) {
    if (!used.has(name)) delete schemas[name];
    else if (name.endsWith('Input') && !used.has(name.slice(0, -'Input'.length))) {
      renames.set(name, name.slice(0, -'Input'.length));
    }
  }
  for (const [from, to] of renames) {
    schemas[to] = schemas[from]!;
    delete schemas[from];
  }
  renameRefs(doc, renames);

  const code = (schemas.Error as { properties?: { error?: { properties?: { code?: Json } } } } | undefined)?.properties
    ?.error?.properties?.code;
  if (code) {
    code.enum = Object.keys(errorCodes).sort();
    code.description = 'a stable code; docs/api.md says when each is answered';
  }

  for (const operation of operations) {
    const responses = (operation.responses ?? {}) as Record<string, Json>;
    for (const [status, response] of Object.entries(responses)) {
      if (response.description !== 'Default Response') continue;
      // Which codes a route answers with is in docs/api.md; every code of a status here would mislead.
      response.description = SUCCESS[status] ?? ERROR[status] ?? 'Error: see the error code';
    }
  }
  return doc as T;
}

function mediaTypes(operation: Json): Json[] {
  const responses = Object.values((operation.responses ?? {}) as Record<string, Json>);
  const bodies = [operation.requestBody as Json | undefined, ...responses];
  return bodies.flatMap((body) => Object.values((body?.content ?? {}) as Record<string, Json>));
}

function renameRefs(value: unknown, renames: ReadonlyMap<string, string>): void {
  if (renames.size === 0 || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) return value.forEach((inner) => renameRefs(inner, renames));
  const record = value as Json;
  for (const [key, inner] of Object.entries(record)) {
    if (key === '$ref' && typeof inner === 'string') {
      const name = renames.get(inner.replace('#/components/schemas/', ''));
      if (name) record.$ref = `#/components/schemas/${name}`;
    } else renameRefs(inner, renames);
  }
}
