// Checks a message tether sends against the reference's own JSON Schema (codex-cli 0.169.0's
// `codex app-server generate-json-schema` bundle, vendored in ../reference/ because CI runs on a
// clean clone without the shared reference folder). Tether's zod schemas are hand-written from the
// same source; this is the independent check that what goes on the wire is what a Codex client
// decodes.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const BUNDLE_URL = new URL('../reference/codex_app_server_protocol.schemas.json', import.meta.url);
const BUNDLE_ID = 'codex-app-server';

interface Bundle {
  definitions: Record<string, unknown> & { v2: Record<string, unknown> };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

let loaded: { ajv: Ajv; bundle: Bundle } | undefined;
const validators = new Map<string, ValidateFunction>();

function load(): { ajv: Ajv; bundle: Bundle } {
  if (loaded) return loaded;
  const parsed: unknown = JSON.parse(readFileSync(BUNDLE_URL, 'utf8'));
  if (!isRecord(parsed) || !isRecord(parsed.definitions) || !isRecord(parsed.definitions.v2)) {
    throw new Error(`${BUNDLE_URL.pathname} is not the app-server schema bundle`);
  }
  const bundle: Bundle = { definitions: { ...parsed.definitions, v2: parsed.definitions.v2 } };
  // The bundle is draft-07 and uses Rust integer formats (int64, uint, …) that carry no check
  // beyond `type: integer`; strict mode would refuse them as unknown.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ ...parsed, $id: BUNDLE_ID });
  loaded = { ajv, bundle };
  return loaded;
}

function validatorFor(pointer: string): ValidateFunction {
  let validate = validators.get(pointer);
  if (!validate) {
    const found = load().ajv.getSchema(`${BUNDLE_ID}#${pointer}`);
    if (!found) throw new Error(`the reference schema has nothing at ${pointer}`);
    validate = found;
    validators.set(pointer, validate);
  }
  return validate;
}

function describe(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 12)
    .map((e) => `  ${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');
}

/** The `$ref` of a method's params in one of the bundle's method unions, if it has the method. */
function paramsRefFor(union: string, method: string): string | undefined {
  const entry = load().bundle.definitions[union];
  if (!isRecord(entry) || !Array.isArray(entry.oneOf)) return undefined;
  for (const variant of entry.oneOf) {
    if (!isRecord(variant) || !isRecord(variant.properties)) continue;
    const { method: methodSchema, params } = variant.properties;
    if (!isRecord(methodSchema) || !Array.isArray(methodSchema.enum)) continue;
    if (!methodSchema.enum.includes(method)) continue;
    return isRecord(params) && typeof params.$ref === 'string' ? params.$ref : undefined;
  }
  return undefined;
}

export class WireShapeError extends Error {
  override name = 'WireShapeError';
}

/**
 * Throws unless `message` (a notification `{method, params}` or a server request
 * `{id, method, params}`, as tether writes it) matches the reference's schema for its method.
 */
export function expectWireShape(message: unknown): void {
  if (!isRecord(message) || typeof message.method !== 'string') {
    throw new WireShapeError(`not a notification or request: ${JSON.stringify(message)}`);
  }
  const union = 'id' in message ? 'ServerRequest' : 'ServerNotification';
  const ref = paramsRefFor(union, message.method);
  if (!ref) {
    throw new WireShapeError(`the reference has no ${union} named ${message.method}`);
  }
  const validate = validatorFor(ref.slice(1));
  if (!validate(message.params)) {
    throw new WireShapeError(
      `${message.method} params do not match the reference's ${ref}:\n${describe(validate.errors)}\n` +
        `params: ${JSON.stringify(message.params)}`,
    );
  }
}

/**
 * Throws unless `value` matches the reference's definition `name` (a v2 type such as
 * `ThreadStartResponse` or `ThreadItem`).
 */
export function expectReferenceShape(name: string, value: unknown): void {
  const validate = validatorFor(`/definitions/v2/${name}`);
  if (!validate(value)) {
    throw new WireShapeError(
      `value does not match the reference's ${name}:\n${describe(validate.errors)}\n` +
        `value: ${JSON.stringify(value)}`,
    );
  }
}
