import { z } from 'zod';

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a sequence';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case 'boolean':
      return `boolean \`${value}\``;
    case 'object':
      return 'a map';
    default:
      return typeof value;
  }
}

const expectedNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  boolean: 'a boolean',
  array: 'a sequence',
  object: 'a map',
  record: 'a map',
  map: 'a map',
  null: 'null',
};

function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

export interface DescribeOptions {
  /** End type and variant messages with `` at `field` `` (default true). */
  pathSuffix?: boolean;
  /**
   * `exec-server`: the words of the exec-server's params decoder. Found values are named as serde
   * names them (`number`, `map`, `sequence`, ``boolean `true` ``), integers are expected as `u64`,
   * and an integer out of range (negative, fractional, too large) is `invalid number`.
   */
  flavor?: 'exec-server';
  /**
   * The schema that was parsed: lets a value that matched no branch of a union be named the way
   * serde names an unknown enum variant (``unknown variant `x`, expected one of `a`, `b` ``).
   */
  schema?: z.ZodType;
  /**
   * Variants the schema still takes but the decoder being imitated no longer offers: left out of
   * the lists (the app-server's retired `on-failure`).
   */
  hiddenVariants?: ReadonlySet<string>;
}

const NO_VARIANTS: ReadonlySet<string> = new Set();

/** Looks through optional, nullable, default and pipe wrappers to the schema that decides. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let depth = 0; depth < 16; depth += 1) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else if (current instanceof z.ZodLazy) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
  return current;
}

/** The schema found at `path` inside `schema`, through objects and arrays only. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    const inner = unwrap(current);
    if (inner instanceof z.ZodObject && typeof key === 'string') {
      current = inner.shape[key] as z.ZodType | undefined;
    } else if (inner instanceof z.ZodArray && typeof key === 'number') {
      current = inner.element as z.ZodType;
    } else {
      return undefined;
    }
  }
  return current;
}

/**
 * How serde would list a union's variants: enum and literal values, and the tag of a
 * single-field object (`{granular: …}` is the variant `granular`), in declaration order.
 */
function variantNames(schema: z.ZodType, hidden: ReadonlySet<string>): string[] {
  const inner = unwrap(schema);
  const names: string[] = [];
  const options: readonly z.ZodType[] =
    inner instanceof z.ZodUnion ? (inner.options as readonly z.ZodType[]) : [inner];
  for (const option of options) {
    const branch = unwrap(option);
    if (branch instanceof z.ZodEnum) names.push(...branch.options.map(String));
    else if (branch instanceof z.ZodLiteral) names.push(...[...branch.values].map(String));
    else if (branch instanceof z.ZodObject) {
      const keys = Object.keys(branch.shape);
      if (keys.length === 1 && keys[0] !== undefined) names.push(keys[0]);
    }
  }
  return names.filter((name) => !hidden.has(name));
}

/** serde's list of expected variants: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``. */
function serdeOneOf(values: string[]): string {
  const quoted = values.map((v) => `\`${v}\``);
  if (quoted.length <= 1) return quoted[0] ?? 'no variant';
  if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(', ')}`;
}

/** The exec-server decoder's (serde's) name for a found value: `number`, `map`, `sequence`. */
export function execTypeName(value: unknown): string {
  if (typeof value === 'number') return 'number';
  if (Array.isArray(value)) return 'sequence';
  if (typeof value === 'object' && value !== null) return 'map';
  return typeName(value);
}

/**
 * Turns a zod error into one short human message naming the field, in the style of the serde
 * messages the reference sends: ``missing field `threadId` ``,
 * ``invalid type: integer `5`, expected a string at `cwd` ``.
 *
 * `input` is the value that was parsed; it lets the message say what was found. With
 * `{ pathSuffix: false }` the type and variant messages end without `` at `field` ``, as serde's
 * `from_value` messages do (the exec-server's params errors name no path).
 */
export function describeZodError(
  error: z.ZodError,
  input?: unknown,
  options: DescribeOptions = {},
): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  const path = issue.path;
  const field = fieldName(path);
  const at = field ? ` at \`${field}\`` : '';
  const suffix = options.pathSuffix === false ? '' : at;
  const hidden = options.hiddenVariants ?? NO_VARIANTS;
  switch (issue.code) {
    case 'invalid_type': {
      const found = valueAt(input, path);
      const last = path[path.length - 1];
      if (found === undefined && last !== undefined) {
        return `missing field \`${String(last)}\``;
      }
      if (options.flavor === 'exec-server') {
        // a schema's own wording (`expected struct WalkOptions`) is kept
        if (!issue.message.startsWith('Invalid input')) return issue.message;
        if (issue.expected === 'int' || issue.expected === 'number') {
          return typeof found === 'number'
            ? 'invalid number'
            : `invalid type: ${execTypeName(found)}, expected u64`;
        }
        const expected = expectedNames[issue.expected] ?? issue.expected;
        return `invalid type: ${execTypeName(found)}, expected ${expected}${suffix}`;
      }
      const expected = expectedNames[issue.expected] ?? issue.expected;
      return `invalid type: ${typeName(found)}, expected ${expected}${suffix}`;
    }
    case 'invalid_value': {
      const found = valueAt(input, path);
      if (options.flavor === 'exec-server') {
        // serde's words for a unit enum: a string names a variant, anything else is the wrong type
        const last = path[path.length - 1];
        if (found === undefined && last !== undefined) return `missing field \`${String(last)}\``;
        if (typeof found !== 'string') {
          return `invalid type: ${execTypeName(found)}, expected string or map`;
        }
        return `unknown variant \`${found}\`, expected ${serdeOneOf(issue.values.map(String))}`;
      }
      if (typeof found === 'string') {
        const variants = issue.values.map(String).filter((v) => !hidden.has(v));
        return `unknown variant \`${found}\`, expected ${serdeOneOf(variants)}${suffix}`;
      }
      const variants = issue.values.map((v) => `\`${String(v)}\``).join(', ');
      return `invalid type: ${typeName(found)}, expected one of ${variants}${suffix}`;
    }
    case 'invalid_union': {
      const found = valueAt(input, path);
      if (typeof found === 'string') {
        // a tagged union names its tags; a plain one, what its schema offers
        const tags = 'options' in issue && Array.isArray(issue.options) ? issue.options : undefined;
        const sub = options.schema ? schemaAt(options.schema, path) : undefined;
        const variants = tags ? tags.map(String) : sub ? variantNames(sub, hidden) : [];
        if (variants.length > 0) {
          return `unknown variant \`${found}\`, expected ${serdeOneOf(variants)}${suffix}`;
        }
      }
      return `data did not match any variant${at}: found ${typeName(found)}`;
    }
    case 'custom':
      // a schema's own wording (for example the reference's `argv must not be empty`) is kept
      return issue.message;
    case 'too_small':
      if (!issue.message.startsWith('Too small')) return issue.message;
      if (options.flavor === 'exec-server' && issue.origin === 'number') return 'invalid number';
      if (issue.origin === 'array' && issue.minimum === 1) {
        return `\`${field || 'value'}\` must not be empty`;
      }
      return `${field ? `\`${field}\`` : 'value'} is too small: ${issue.message}`;
    default:
      if (
        options.flavor === 'exec-server' &&
        issue.code === 'too_big' &&
        (issue.origin === 'number' || issue.origin === 'int')
      ) {
        return 'invalid number';
      }
      if (issue.code === 'invalid_format' && !issue.message.startsWith('Invalid')) {
        return issue.message;
      }
      return field ? `invalid value at \`${field}\`: ${issue.message}` : issue.message;
  }
}
