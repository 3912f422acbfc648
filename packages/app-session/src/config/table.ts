/** Plain-table helpers for configuration values (parsed TOML as JS objects). */
import { createHash } from 'node:crypto';

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

/**
 * Keys that reach an object's prototype when used as a property name. A configuration key path or
 * table key with one of them could otherwise set a property on every object of the process; they
 * are refused at the edges (`config/value/write`, `-c`) and never followed here.
 */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** The first key path (within `path`, then inside `value`'s tables) that uses a forbidden key. */
export function forbiddenKeyPath(path: readonly string[], value?: unknown): string[] | undefined {
  const at = path.findIndex((segment) => FORBIDDEN_KEYS.includes(segment));
  if (at !== -1) return path.slice(0, at + 1);
  if (isTable(value)) {
    for (const [key, inner] of Object.entries(value)) {
      const found = forbiddenKeyPath([...path, key], inner);
      if (found) return found;
    }
  } else if (Array.isArray(value)) {
    for (const [index, inner] of value.entries()) {
      const found = forbiddenKeyPath([...path, String(index)], inner);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Sets an own property even for a key like `__proto__` (a plain assignment would replace the
 * object's prototype instead, which a table read from a hand-written file must never do).
 */
function setOwn(table: Table, key: string, value: unknown): void {
  Object.defineProperty(table, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** `over` on top of `base`: tables merge key by key, anything else replaces. */
export function deepMerge(base: Table, over: Table): Table {
  const merged: Table = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = Object.hasOwn(merged, key) ? merged[key] : undefined;
    setOwn(merged, key, isTable(current) && isTable(value) ? deepMerge(current, value) : value);
  }
  return merged;
}

export function getPath(table: Table, path: readonly string[]): unknown {
  let current: unknown = table;
  for (const segment of path) {
    if (!isTable(current) || !Object.hasOwn(current, segment)) return undefined;
    current = current[segment];
  }
  return current;
}

/** Sets `path`, making the tables on the way (a non-table on the way is replaced by one). */
export function setPath(table: Table, path: readonly string[], value: unknown): void {
  // callers refuse these first; following one would write into a shared prototype
  const forbidden = forbiddenKeyPath(path);
  if (forbidden) throw new Error(`refusing to set configuration key \`${forbidden.join('.')}\``);
  let current = table;
  for (const segment of path.slice(0, -1)) {
    // only the table's own keys are followed, never an inherited property
    const next = Object.hasOwn(current, segment) ? current[segment] : undefined;
    if (isTable(next)) {
      current = next;
    } else {
      const made: Table = {};
      setOwn(current, segment, made);
      current = made;
    }
  }
  const last = path.at(-1);
  if (last !== undefined) setOwn(current, last, value);
}

export function deletePath(table: Table, path: readonly string[]): void {
  const parent = path.length > 1 ? getPath(table, path.slice(0, -1)) : table;
  const last = path.at(-1);
  if (isTable(parent) && last !== undefined) delete parent[last];
}

/** Every leaf of a table as a dotted key (array items by index), as `config/read`'s origins list them. */
export function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (isTable(value)) {
    return Object.entries(value).flatMap(([key, inner]) => leafPaths(inner, [...prefix, key]));
  }
  if (Array.isArray(value)) {
    return value.flatMap((inner, index) => leafPaths(inner, [...prefix, String(index)]));
  }
  return prefix.length > 0 ? [prefix] : [];
}

/** A TOML value as JSON (dates as their TOML text). */
export function toJson(value: unknown): unknown {
  if (value instanceof Date) return String(value);
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (isTable(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, toJson(inner)]));
  }
  return value;
}

function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (isTable(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${sortedJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A layer's version as the reference computes it: `sha256:` of its table as compact JSON with
 * sorted keys. Comments and formatting do not change it; any value does.
 */
export function tableVersion(table: Table): string {
  return `sha256:${createHash('sha256')
    .update(sortedJson(toJson(table)))
    .digest('hex')}`;
}
