import { invalidParams, invalidRequest, RpcError } from '@tether/protocol';

const HEX = /[0-9a-fA-F]/;

export interface ThreadIdOptions {
  /** How the error names the id: `thread` (most methods) or `session` (resume, fork, archive). */
  label?: 'thread' | 'session';
  /** `-32602` for the methods whose reference handler decodes the id itself (read state). */
  invalidParams?: boolean;
}

/**
 * Checks a client-supplied thread id the way the reference does (a UUID, optionally prefixed with
 * `urn:uuid:`) and returns it in canonical lower-case hyphenated form.
 */
export function parseThreadId(raw: string, options: ThreadIdOptions = {}): string {
  const fail = (why: string): never => {
    const message = `invalid ${options.label ?? 'thread'} id: ${why}`;
    throw new RpcError(options.invalidParams ? invalidParams(message) : invalidRequest(message));
  };
  const body = raw.toLowerCase().startsWith('urn:uuid:') ? raw.slice('urn:uuid:'.length) : raw;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (!HEX.test(ch) && ch !== '-') {
      fail(
        `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${ch}\` at ${i + 1}`,
      );
    }
  }
  const hex = body.replaceAll('-', '');
  if (hex.length !== 32) {
    fail(`invalid length: expected length 32 for simple format, found ${hex.length}`);
  }
  if (
    body.includes('-') &&
    !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(body)
  ) {
    fail('invalid group count or length: expected the 8-4-4-4-12 layout');
  }
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
