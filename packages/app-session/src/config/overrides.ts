/**
 * `-c key=value` as the reference takes it: a dotted key, and a value parsed as TOML (`-c
 * model="o3"`, `-c 'roots=["/a"]'`, `-c 'p={name="x"}'`), or kept as the raw string when it does
 * not parse (`-c approval_policy=never`).
 */
import { parse } from 'smol-toml';
import { forbiddenKeyPath } from './table.js';

export type OverrideValue = unknown;
export interface ConfigOverride {
  keyPath: string[];
  value: OverrideValue;
}

export class ConfigOverrideError extends Error {
  readonly code = 'config_override_invalid';
}

/** Splits a dotted key; quoted segments (`a."b.c"`) keep their dots. */
export function splitKeyPath(key: string): string[] {
  const segments: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const char of key) {
    if (quote) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '.') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  return segments.map((segment) => segment.trim());
}

/** One `-c` argument. */
export function parseOverride(argument: string): ConfigOverride {
  const eq = argument.indexOf('=');
  if (eq === -1) {
    throw new ConfigOverrideError(`Invalid override (missing '='): ${argument}`);
  }
  const key = argument.slice(0, eq).trim();
  const raw = argument.slice(eq + 1).trim();
  const keyPath = splitKeyPath(key);
  if (key === '' || keyPath.some((segment) => segment === '')) {
    throw new ConfigOverrideError(`Empty key in override: ${argument}`);
  }
  const value = parseValue(raw);
  const forbidden = forbiddenKeyPath(keyPath, value);
  if (forbidden) {
    throw new ConfigOverrideError(
      `key \`${forbidden.at(-1)}\` is not allowed in a configuration key (in \`${forbidden.join('.')}\`): ${argument}`,
    );
  }
  return { keyPath, value };
}

function parseValue(raw: string): unknown {
  try {
    // a TOML value is parsed as the right-hand side of a key
    const parsed: Record<string, unknown> = parse(`value = ${raw}`);
    return parsed.value;
  } catch {
    // not TOML: the reference keeps it as a literal string, without surrounding quotes
    return raw.replace(/^(["'])(.*)\1$/s, '$2');
  }
}
