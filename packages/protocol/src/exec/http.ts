import { z } from 'zod';
import { Base64 } from './base64.js';

/**
 * `http/request`: an HTTP request made by the exec-server on the client's behalf (the remote MCP
 * path of Codex uses it to reach servers that only the executor's machine can reach).
 */

/** One header line; repeated names are separate entries, in order. */
export const HttpHeader = z.looseObject({
  name: z.string(),
  value: z.string(),
});
export type HttpHeader = z.infer<typeof HttpHeader>;

/** RFC 9110 `token`: what a method or a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** A header value is fine unless it holds a control character other than tab (or DEL). */
function validHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return false;
  }
  return true;
}

/** Why a URL does not parse, in the words of the Rust `url` crate the reference uses. */
function urlProblem(text: string): string {
  if (!SCHEME.test(text)) return 'relative URL without a base';
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(text)?.[1];
  if (authority === undefined) return 'invalid URL';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostPort === '') return 'empty host';
  if (hostPort.startsWith('[')) return 'invalid IPv6 address';
  const port = /:([^:\]]*)$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) <= 65535)) {
    return 'invalid port number';
  }
  return 'invalid domain character';
}

/**
 * What is wrong with a decoded `http/request` (the checks the reference makes after decoding, in
 * its order and words), or undefined.
 */
function httpRequestProblem(params: {
  method: string;
  url: string;
  headers?: readonly { name: string; value: string }[] | undefined;
}): string | undefined {
  if (!TOKEN.test(params.method)) return 'http/request method is invalid: invalid HTTP method';
  if (!URL.canParse(params.url)) return `http/request url is invalid: ${urlProblem(params.url)}`;
  const scheme = new URL(params.url).protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') {
    return `http/request only supports http and https URLs, got ${scheme}`;
  }
  for (const { name, value } of params.headers ?? []) {
    if (!TOKEN.test(name)) return 'http/request header name is invalid: invalid HTTP header name';
    if (!validHeaderValue(value)) {
      return `http/request header value is invalid for ${name}: failed to parse header value`;
    }
  }
  return undefined;
}

/**
 * `http/request` params. `timeoutMs` covers the whole exchange, body included: absent means 30 s,
 * `null` means no timeout. With `streamResponse` the result carries an empty body and the body
 * follows as `http/request/bodyDelta` notifications naming `requestId` (required even when not
 * streaming, as on the reference).
 */
export const HttpRequestParams = z
  .looseObject({
    method: z.string(),
    url: z.string(),
    headers: z.array(HttpHeader).optional(),
    bodyBase64: Base64.nullish(),
    timeoutMs: z.int().nonnegative().nullable().optional(),
    requestId: z.string(),
    streamResponse: z.boolean().optional(),
  })
  .superRefine((params, ctx) => {
    // runs once every member decoded, as the reference checks after decoding
    const problem = httpRequestProblem(params);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
export type HttpRequestParams = z.infer<typeof HttpRequestParams>;

/** Response header names are lower case; values that are not visible ASCII are left out. */
export const HttpRequestResult = z.looseObject({
  status: z.int().nonnegative(),
  headers: z.array(HttpHeader),
  bodyBase64: Base64,
});
export type HttpRequestResult = z.infer<typeof HttpRequestResult>;

/**
 * One piece of a streamed response body: `seq` starts at 1 per request; the last notification has
 * `done: true`, an empty delta, and `error` set when the body failed part way.
 */
export const HttpRequestBodyDeltaNotification = z.looseObject({
  requestId: z.string(),
  seq: z.int().nonnegative(),
  deltaBase64: Base64,
  done: z.boolean(),
  error: z.string().nullable(),
});
export type HttpRequestBodyDeltaNotification = z.infer<typeof HttpRequestBodyDeltaNotification>;
