/**
 * The API contract as a checker for tests. wisp's own description of the API it serves
 * (src/api/wisp-api.yaml, Swagger 2.0 with wisp's extensions) is what the API tests validate against,
 * so they run in a plain clone; Firecracker's firecracker-api.yaml, where present beside the clone,
 * is held against it by compareWithFirecracker (api-spec.test.ts). The validator covers the
 * JSON-schema subset both files use: $ref, type, properties, required, additionalProperties, items,
 * enum, minimum, maximum. Responses are checked strictly (a property the definition does not list is
 * an error); request bodies follow swagger's default (extra properties allowed), since Firecracker's
 * own refusal of unknown fields is what the API tests check.
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

export interface ApiSpec {
  paths: Record<string, Record<string, Operation>>;
  definitions: Record<string, Schema>;
  [extension: `x-${string}`]: unknown;
}
/** @deprecated the old name, from when the tests read Firecracker's file; the shape is the same. */
export type FirecrackerSpec = ApiSpec;

/** The repository root, from src/… or dist/… alike. */
function repoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = join(dir, '..');
    if (up === dir) throw new Error('api-spec: cannot find the repository root');
    dir = up;
  }
  return dir;
}

function readSpec(path: string): ApiSpec {
  const doc = parseYamlSubset(readFileSync(path, 'utf8')) as ApiSpec;
  if (!doc.paths || !doc.definitions) throw new Error(`${path} has no paths/definitions: not a Swagger 2.0 API description?`);
  return doc;
}

/** Where wisp's description lives (read from the sources, also by the compiled tests under dist/). */
export const WISP_API_YAML = 'src/api/wisp-api.yaml';

let cached: ApiSpec | undefined;

/** wisp's description of the API it serves: the contract the API tests validate against. */
export function loadApiSpec(): ApiSpec {
  cached ??= readSpec(join(repoRoot(), WISP_API_YAML));
  return cached;
}

/** @deprecated use loadApiSpec: the API tests validate against wisp's own description now. */
export const loadFirecrackerSpec = loadApiSpec;

/**
 * Firecracker's firecracker-api.yaml ($WISP_FIRECRACKER_API_YAML, else ../shared/reference/ beside
 * the clone, as DESIGN.md places it), or why it is not there.
 */
export function loadFirecrackerReference(): { spec: ApiSpec; path: string } | { missing: string } {
  const path = process.env['WISP_FIRECRACKER_API_YAML'] ?? join(repoRoot(), '..', 'shared', 'reference', 'firecracker-api.yaml');
  if (!existsSync(path)) return { missing: path };
  return { spec: readSpec(path), path };
}

/** The spec operation for a method and a concrete path ("/drives/rootfs" matches "/drives/{drive_id}"). */
export function findOperation(spec: ApiSpec, method: string, path: string): Operation | undefined {
  for (const [template, ops] of Object.entries(spec.paths)) {
    const re = new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(path)) return ops[method.toLowerCase()];
  }
  return undefined;
}

export function validate(spec: ApiSpec, value: unknown, schema: Schema, strict: boolean, at = '$'): string[] {
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
export function checkRequest(spec: ApiSpec, method: string, path: string, body: unknown): string[] {
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
export function checkResponse(spec: ApiSpec, method: string, path: string, status: number, body: unknown): string[] {
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

/**
 * Where wisp's description and Firecracker's disagree on what they share. They agree when:
 *  - every Firecracker path is described by wisp or listed in wisp's `x-wisp-unserved-paths`, and every
 *    path only wisp has is marked `x-wisp-extension: true`;
 *  - on a shared path, both have the same methods, and each shared operation has the same path
 *    parameters, the same body schema, the same success statuses and schemas;
 *  - every definition both have agrees field by field (type, $ref, enum, format, bounds, items,
 *    additionalProperties, required), except for the properties wisp lists in `x-wisp-omitted` (it
 *    neither takes nor gives them), its own properties marked `x-wisp-extension: true`, and
 *    Firecracker-required fields wisp lists in `x-wisp-optional` (a wisp extension replaces them);
 *  - every definition only wisp has is marked `x-wisp-extension: true`.
 * Descriptions and summaries are each project's own words and are not compared.
 */
export function compareWithFirecracker(wisp: ApiSpec, fc: ApiSpec): string[] {
  const out: string[] = [];
  const unserved = new Set((wisp['x-wisp-unserved-paths'] as string[] | undefined) ?? []);
  for (const p of unserved) {
    if (!fc.paths[p]) out.push(`x-wisp-unserved-paths lists ${p}, which Firecracker does not have`);
    if (wisp.paths[p]) out.push(`${p} is both described and listed as unserved`);
  }
  for (const [path, fcOps] of Object.entries(fc.paths)) {
    const ops = wisp.paths[path];
    if (!ops) {
      if (!unserved.has(path)) out.push(`${path}: Firecracker serves it; wisp neither describes it nor lists it in x-wisp-unserved-paths`);
      continue;
    }
    for (const m of new Set([...Object.keys(fcOps), ...Object.keys(ops)])) {
      if (m.startsWith('x-')) continue;
      const a = ops[m], b = fcOps[m];
      if (!a) { out.push(`${m.toUpperCase()} ${path}: in Firecracker's, not in wisp's`); continue; }
      if (!b) { out.push(`${m.toUpperCase()} ${path}: in wisp's, not in Firecracker's`); continue; }
      out.push(...compareOperation(a, b, `${m.toUpperCase()} ${path}`));
    }
  }
  for (const [path, ops] of Object.entries(wisp.paths)) {
    if (!fc.paths[path] && (ops as Record<string, unknown>)['x-wisp-extension'] !== true) {
      out.push(`${path}: only wisp has it, and it is not marked x-wisp-extension: true`);
    }
  }
  for (const [name, def] of Object.entries(wisp.definitions)) {
    const ref = fc.definitions[name];
    if (ref) out.push(...compareSchema(def, ref, `definitions.${name}`));
    else if (def['x-wisp-extension'] !== true) out.push(`definitions.${name}: only wisp has it, and it is not marked x-wisp-extension: true`);
  }
  return out;
}

function compareOperation(a: Operation, b: Operation, at: string): string[] {
  const out: string[] = [];
  const params = (o: Operation, kind: string) => (o.parameters ?? []).filter((p) => p.in === kind);
  const names = (o: Operation) => params(o, 'path').map((p) => p.name).sort().join(',');
  if (names(a) !== names(b)) out.push(`${at}: path parameters ${names(a)} vs Firecracker's ${names(b)}`);
  const [ba] = params(a, 'body'), [bb] = params(b, 'body');
  if (!!ba !== !!bb) out.push(`${at}: ${ba ? 'wisp' : 'Firecracker'} alone takes a body`);
  else if (ba && bb) {
    if (!!ba.required !== !!bb.required) out.push(`${at}: the body is ${ba.required ? '' : 'not '}required in wisp's, ${bb.required ? '' : 'not '}in Firecracker's`);
    out.push(...compareSchema(ba.schema ?? {}, bb.schema ?? {}, `${at} body`));
  }
  // Success statuses must match; error answers are all the Error definition, and Firecracker's file
  // leaves out some 400s its server does send (PUT /entropy, PUT /serial), so those are not compared.
  const codes = (o: Operation) => Object.keys(o.responses).filter((c) => /^2/.test(c)).sort().join(',');
  if (codes(a) !== codes(b)) out.push(`${at}: success responses ${codes(a)} vs Firecracker's ${codes(b)}`);
  for (const [code, r] of Object.entries(a.responses)) {
    const s = b.responses[code];
    if (s && /^2/.test(code) && (r.schema || s.schema)) out.push(...compareSchema(r.schema ?? {}, s.schema ?? {}, `${at} → ${code}`));
  }
  return out;
}

const COMPARED = ['type', 'format', 'minimum', 'maximum', 'default'] as const;

function compareSchema(a: Schema, b: Schema, at: string): string[] {
  const out: string[] = [];
  if (a['$ref'] !== b['$ref']) out.push(`${at}: $ref ${String(a['$ref'])} vs Firecracker's ${String(b['$ref'])}`);
  for (const k of COMPARED) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${at}: ${k} ${JSON.stringify(a[k])} vs Firecracker's ${JSON.stringify(b[k])}`);
  }
  if (JSON.stringify(a['enum']) !== JSON.stringify(b['enum'])) out.push(`${at}: enum ${JSON.stringify(a['enum'])} vs Firecracker's ${JSON.stringify(b['enum'])}`);
  const ai = a['items'] as Schema | undefined, bi = b['items'] as Schema | undefined;
  if (ai || bi) out.push(...compareSchema(ai ?? {}, bi ?? {}, `${at}[]`));
  const aa = a['additionalProperties'], ba = b['additionalProperties'];
  if (typeof aa === 'object' && typeof ba === 'object' && aa && ba) out.push(...compareSchema(aa as Schema, ba as Schema, `${at}{}`));
  else if (JSON.stringify(aa) !== JSON.stringify(ba)) out.push(`${at}: additionalProperties ${JSON.stringify(aa)} vs Firecracker's ${JSON.stringify(ba)}`);

  const ap = (a['properties'] ?? {}) as Record<string, Schema>;
  const bp = (b['properties'] ?? {}) as Record<string, Schema>;
  const omitted = new Set((a['x-wisp-omitted'] as string[] | undefined) ?? []);
  const optional = new Set((a['x-wisp-optional'] as string[] | undefined) ?? []);
  for (const o of omitted) {
    if (!bp[o]) out.push(`${at}: x-wisp-omitted lists ${o}, which Firecracker's does not have`);
    if (ap[o]) out.push(`${at}: ${o} is both described and omitted`);
  }
  for (const [k, s] of Object.entries(bp)) {
    if (ap[k]) out.push(...compareSchema(ap[k]!, s, `${at}.${k}`));
    else if (!omitted.has(k)) out.push(`${at}.${k}: in Firecracker's, neither in wisp's nor in its x-wisp-omitted`);
  }
  for (const [k, s] of Object.entries(ap)) {
    if (!bp[k] && s['x-wisp-extension'] !== true) out.push(`${at}.${k}: only wisp has it, and it is not marked x-wisp-extension: true`);
  }
  const ar = new Set((a['required'] as string[] | undefined) ?? []);
  const br = new Set((b['required'] as string[] | undefined) ?? []);
  for (const r of br) {
    if (!ar.has(r) && !optional.has(r) && !omitted.has(r)) out.push(`${at}: Firecracker requires ${r}, wisp's does not (nor lists it in x-wisp-optional)`);
  }
  for (const r of optional) if (!br.has(r)) out.push(`${at}: x-wisp-optional lists ${r}, which Firecracker does not require`);
  for (const r of ar) {
    if (!br.has(r) && ap[r]?.['x-wisp-extension'] !== true) out.push(`${at}: wisp requires ${r}, Firecracker's does not`);
  }
  return out;
}
