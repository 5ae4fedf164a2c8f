/**
 * Firecracker's API contract (the swagger file DESIGN.md names) as a checker for tests: find the
 * operation of a request, and validate a request body or a response against the spec's schemas. The
 * validator covers the JSON-schema subset the file uses: $ref, type, properties, required,
 * additionalProperties, items, enum, minimum, maximum. Responses are checked strictly (a property the
 * definition does not list is an error); request bodies follow swagger's default (extra properties
 * allowed), since Firecracker's own refusal of unknown fields is what the API tests check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlSubset } from './yaml-subset.js';

type Schema = Record<string, unknown>;

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean; description?: string; schema?: Schema }>;
  responses: Record<string, { schema?: Schema }>;
}

export interface FirecrackerSpec {
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
}

/** The repository root, from src/… or dist/… alike. */
function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = join(dir, '..');
    if (up === dir) throw new Error('firecracker-spec: cannot find the repository root');
    dir = up;
  }
  return dir;
}

let cached: FirecrackerSpec | undefined;

/** Loads ../shared/reference/firecracker-api.yaml (DESIGN.md), or $WISP_FIRECRACKER_API_YAML. */
export function loadFirecrackerSpec(): FirecrackerSpec {
  if (cached) return cached;
  const path = process.env['WISP_FIRECRACKER_API_YAML'] ?? join(repoRoot(), '..', 'shared', 'reference', 'firecracker-api.yaml');
  if (!existsSync(path)) {
    throw new Error(`Firecracker's API spec is missing at ${path}: the API tests validate against it (set WISP_FIRECRACKER_API_YAML to its location)`);
  }
  const doc = parseYamlSubset(readFileSync(path, 'utf8')) as FirecrackerSpec;
  if (!doc.paths || !doc.definitions) throw new Error(`${path} has no paths/definitions: not Firecracker's swagger file?`);
  cached = doc;
  return doc;
}

/** The spec operation for a method and a concrete path ("/drives/rootfs" matches "/drives/{drive_id}"). */
export function findOperation(spec: FirecrackerSpec, method: string, path: string): Operation | undefined {
  for (const [template, ops] of Object.entries(spec.paths)) {
    const re = new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(path)) return ops[method.toLowerCase()];
  }
  return undefined;
}

export function validate(spec: FirecrackerSpec, value: unknown, schema: Schema, strict: boolean, at = '$'): string[] {
  if (typeof schema['$ref'] === 'string') {
    const name = (schema['$ref'] as string).replace('#/definitions/', '');
    const def = spec.definitions[name];
    if (!def) return [`${at}: unknown $ref ${name}`];
    return validate(spec, value, def, strict, at);
  }
  const errs: string[] = [];
  const type = schema['type'];
  if (Array.isArray(schema['enum']) && !(schema['enum'] as unknown[]).includes(value)) {
    errs.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema['enum'])}`);
  }
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${at}: expected an object`];
      const props = (schema['properties'] ?? {}) as Record<string, Schema>;
      for (const r of (schema['required'] ?? []) as string[]) if (!(r in value)) errs.push(`${at}: missing required ${r}`);
      const extra = schema['additionalProperties'];
      for (const [k, v] of Object.entries(value)) {
        if (props[k]) errs.push(...validate(spec, v, props[k]!, strict, `${at}.${k}`));
        else if (typeof extra === 'object' && extra !== null) errs.push(...validate(spec, v, extra as Schema, strict, `${at}.${k}`));
        else if (extra === false || (strict && extra === undefined)) errs.push(`${at}: property ${k} is not in the schema`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${at}: expected an array`];
      value.forEach((v, i) => errs.push(...validate(spec, v, (schema['items'] ?? {}) as Schema, strict, `${at}[${i}]`)));
      break;
    case 'string':
      if (typeof value !== 'string') errs.push(`${at}: expected a string`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') errs.push(`${at}: expected a boolean`);
      break;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (type === 'integer' && !Number.isInteger(value))) {
        errs.push(`${at}: expected ${type === 'integer' ? 'an integer' : 'a number'}`);
      } else {
        if (typeof schema['minimum'] === 'number' && value < (schema['minimum'] as number)) errs.push(`${at}: below minimum ${schema['minimum']}`);
        if (typeof schema['maximum'] === 'number' && value > (schema['maximum'] as number)) errs.push(`${at}: above maximum ${schema['maximum']}`);
      }
      break;
    case undefined:
      break;
    default:
      errs.push(`${at}: schema type ${String(type)} is outside the validator's subset`);
  }
  return errs;
}

/** Errors of a request against the spec: unknown operation, or a body that breaks its schema. */
export function checkRequest(spec: FirecrackerSpec, method: string, path: string, body: unknown): string[] {
  const op = findOperation(spec, method, path);
  if (!op) return [`${method} ${path}: no such operation in the spec`];
  const param = op.parameters?.find((p) => p.in === 'body');
  if (body === undefined) return param?.required ? [`${method} ${path}: the spec requires a body`] : [];
  if (!param?.schema) return [`${method} ${path}: the spec takes no body`];
  // PATCH /machine-config reuses MachineConfiguration but documents its body as "A subset of Machine
  // Configuration Parameters": there, the top level's `required` does not apply.
  if (/\bsubset\b/i.test(param.description ?? '') && typeof param.schema['$ref'] === 'string') {
    const def = spec.definitions[(param.schema['$ref'] as string).replace('#/definitions/', '')]!;
    return validate(spec, body, { ...def, required: [] }, false);
  }
  return validate(spec, body, param.schema, false);
}

/**
 * Errors of a response against the spec. Error answers (4xx/5xx) must be the Error definition whatever
 * the operation; 2xx answers must match the operation's schema for that status (204 without a body).
 */
export function checkResponse(spec: FirecrackerSpec, method: string, path: string, status: number, body: unknown): string[] {
  if (status >= 400) {
    const errs = validate(spec, body, { $ref: '#/definitions/Error' }, true);
    if (typeof (body as { fault_message?: unknown })?.fault_message !== 'string') errs.push('error answer without fault_message');
    return errs;
  }
  const op = findOperation(spec, method, path);
  if (!op) return [`${method} ${path}: no such operation in the spec`];
  const r = op.responses[String(status)];
  if (!r) return [`${method} ${path}: the spec has no ${status} response`];
  if (!r.schema) return body === undefined ? [] : [`${method} ${path}: ${status} must have no body`];
  return validate(spec, body, r.schema, true);
}
