import type { JsonSchema, OpenApiDocument } from '@hotswap/contracts';

/** The OpenAPI document as one self-contained HTML page (no scripts, nothing fetched). */
export function renderApiPage(doc: OpenApiDocument): string {
  const info = doc['info'] as { title: string; version: string; description?: string };
  const schemas = ((doc['components'] as JsonSchema)['schemas'] ?? {}) as Record<string, JsonSchema>;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => renderOperation(method, path, op)));
  const components = Object.entries(schemas).map(([name, schema]) =>
    `<section id="schema-${escape(name)}"><h3>${escape(name)}</h3>${renderSchema(schema)}</section>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
code,.path{font-family:ui-monospace,monospace}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.method{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.put{color:#b60}.delete{color:#c22}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
</style></head><body>
<h1>${escape(info.title)} <small>${escape(info.version)}</small></h1>
<p>${escape(info.description ?? '')}</p>
<p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI ${escape(doc.openapi)}).
Authenticate with <code>Authorization: Bearer &lt;JWT&gt;</code>; devices register with <code>X-Api-Key</code>.</p>
<h2>Operations</h2>
${operations.join('\n')}
<h2>Schemas</h2>
${components.join('\n')}
</body></html>
`;
}

function renderOperation(method: string, path: string, op: JsonSchema): string {
  const parameters = (op['parameters'] ?? []) as JsonSchema[];
  const body = op['requestBody'] as { required?: boolean; content: Record<string, { schema: JsonSchema }> } | undefined;
  const responses = Object.entries(op['responses'] as Record<string, { description?: string }>);
  return `<div class="op" id="${escape(String(op['operationId']))}">
<h3><span class="method ${escape(method)}">${escape(method)}</span> <span class="path">${escape(path)}</span></h3>
<p><b>${escape(String(op['summary'] ?? ''))}</b>. ${escape(String(op['description'] ?? ''))}</p>
${parameters.length === 0 ? '' : `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>${parameters.map((p) =>
    `<tr><td><code>${escape(String(p['name']))}</code></td><td>${escape(String(p['in']))}</td><td>${p['required'] ? 'yes' : 'no'}</td><td>${renderSchema(p['schema'] as JsonSchema)}${p['description'] ? ` ${escape(String(p['description']))}` : ''}</td></tr>`).join('')}</table>`}
${body === undefined ? '' : Object.entries(body.content).map(([type, { schema }]) =>
    `<p>Body (<code>${escape(type)}</code>${body.required ? '' : ', optional'}):</p>${renderSchema(schema)}`).join('')}
<p>Responses: ${responses.map(([status, response]) => `<b>${escape(status)}</b> ${escape(response.description ?? '')}`).join('; ')}</p>
</div>`;
}

/** A schema as a table of properties, or a one-line summary. */
function renderSchema(schema: JsonSchema): string {
  const properties = schema['properties'] as Record<string, JsonSchema> | undefined;
  if (properties === undefined) return typeCell(schema);
  const required = new Set((schema['required'] ?? []) as string[]);
  return `<table><tr><th>field</th><th>type</th><th>required</th><th>rules</th></tr>${Object.entries(properties).map(([name, property]) =>
    `<tr><td><code>${escape(name)}</code></td><td>${typeCell(property)}</td><td>${required.has(name) ? 'yes' : 'no'}</td><td>${escape(String(property['description'] ?? ''))}</td></tr>`).join('')}</table>`;
}

/** A schema's type, with a link to the named schema it refers to. */
function typeCell(schema: JsonSchema): string {
  const items = schema['type'] === 'array' ? (schema['items'] as JsonSchema | undefined) : undefined;
  const ref = (items ?? schema)['$ref'];
  if (typeof ref !== 'string') return `<code>${escape(summary(schema))}</code>`;
  const name = escape(ref.split('/').at(-1) ?? ref);
  return `${items ? 'array of ' : ''}<a href="#schema-${name}"><code>${name}</code></a>`;
}

/** `string (pattern …, max 100)`, `Ref`, `array of Ref`. */
function summary(schema: JsonSchema): string {
  const ref = schema['$ref'];
  if (typeof ref === 'string') return ref.split('/').at(-1) ?? ref;
  if (Array.isArray(schema['enum'])) return `one of ${(schema['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  const type = String(schema['type'] ?? 'any');
  if (type === 'array' && schema['items'] !== undefined) return `array of ${summary(schema['items'] as JsonSchema)}`;
  const rules = ['pattern', 'format', 'minimum', 'maximum', 'exclusiveMinimum', 'minLength', 'maxLength', 'minItems', 'maxItems']
    .filter((key) => schema[key] !== undefined)
    .map((key) => `${key} ${String(schema[key])}`);
  return rules.length === 0 ? type : `${type} (${rules.join(', ')})`;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
