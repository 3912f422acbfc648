import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  clientNotifications,
  isClientNotificationMethod,
  isNotificationMethod,
  isRequestMethod,
  notifications,
  requests,
} from './index.js';

/**
 * Replays every recorded exec-server transcript through the schemas: each covered request's
 * params, each success result (method found by id on the same connection), each notification.
 * Accepted values must come back as the same JSON value.
 */

const FIXTURES = new URL('../../fixtures/transcripts/exec-server/', import.meta.url);
const files = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.jsonl'))
  .sort();

/** Requests and notifications the transcripts send on purpose to unknown methods. */
const DELIBERATELY_UNKNOWN = ['bogus/notification', 'nope/method'];

/** Server messages for -32602 our schemas reproduce verbatim as a zod issue message. */
const VERBATIM_PARAM_ERRORS =
  /^(argv must not be empty|invalid URI: |http\/request |invalid type: \w+, expected unit$|Invalid symbol \d+, offset \d+\.|Invalid padding|Invalid last symbol|Invalid input length)/;

/** The recorder shortens base64 payloads over 160 chars to this (not valid base64). */
const PLACEHOLDER = /^<base64 \d+ bytes sha256:[0-9a-f]+>$/;
/** Stands in for a shortened payload: valid base64 of `<shortened>`. */
const PLACEHOLDER_STAND_IN = 'PHNob3J0ZW5lZD4=';

type Kind = 'params' | 'result' | 'notification' | 'clientNotification';

interface Check {
  where: string;
  method: string;
  kind: Kind;
  schema: z.ZodType;
  input: unknown;
  /** `reject` for params the reference answered with -32602. */
  outcome: 'accept' | 'reject';
  /** The reference's error for this request, if any. */
  serverError?: { code: number; message: string };
}

interface PendingRequest {
  where: string;
  method: string;
  params: unknown;
  response?: Record<string, unknown>;
}

interface Analysis {
  checks: Check[];
  /** Methods seen in the transcript that no table covers. */
  uncovered: Set<string>;
  placeholders: number;
  /** Frames that are not a JSON object (bad JSON, a batch array) or have a null id. */
  malformedFrames: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is number | string {
  return typeof value === 'string' || typeof value === 'number';
}

function isErrorObject(value: unknown): value is { code: number; message: string } {
  return isRecord(value) && typeof value.code === 'number' && typeof value.message === 'string';
}

const LINE = /^([A-Z]?)([<>#]) (.*)$/;

function analyze(file: string): Analysis {
  const text = readFileSync(new URL(file, FIXTURES), 'utf8');
  const analysis: Analysis = {
    checks: [],
    uncovered: new Set(),
    placeholders: 0,
    malformedFrames: 0,
  };

  const substitute = (value: unknown): unknown => {
    if (typeof value === 'string' && PLACEHOLDER.test(value)) {
      analysis.placeholders += 1;
      return PLACEHOLDER_STAND_IN;
    }
    if (Array.isArray(value)) return value.map(substitute);
    if (isRecord(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
    }
    return value;
  };

  const pendingByConnection = new Map<string, Map<number | string, PendingRequest>>();
  const pendingOn = (connection: string) => {
    let pending = pendingByConnection.get(connection);
    if (!pending) {
      pending = new Map();
      pendingByConnection.set(connection, pending);
    }
    return pending;
  };
  const sent: PendingRequest[] = [];

  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${file}:${index + 1}`;
    const match = LINE.exec(line);
    if (!match) throw new Error(`${where}: unrecognized transcript line`);
    const [, label = '', direction = '', body = ''] = match;
    if (direction === '#') return;
    const connection = label || 'default';
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      analysis.malformedFrames += 1;
      return;
    }
    if (!isRecord(value)) {
      analysis.malformedFrames += 1;
      return;
    }

    if (direction === '>') {
      if (typeof value.method !== 'string') return; // a client-sent response object
      const method = value.method;
      if (Object.hasOwn(value, 'id')) {
        if (!isId(value.id)) {
          analysis.malformedFrames += 1; // null id: answered with id -1
          return;
        }
        const request: PendingRequest = { where, method, params: substitute(value.params) };
        pendingOn(connection).set(value.id, request);
        sent.push(request);
        return;
      }
      if (isClientNotificationMethod(method)) {
        analysis.checks.push({
          where,
          method,
          kind: 'clientNotification',
          schema: clientNotifications[method],
          input: substitute(value.params),
          outcome: 'accept',
        });
      } else {
        analysis.uncovered.add(method);
      }
      return;
    }

    // Server → client.
    if (typeof value.method === 'string') {
      const method = value.method;
      if (isNotificationMethod(method)) {
        analysis.checks.push({
          where,
          method,
          kind: 'notification',
          schema: notifications[method],
          input: substitute(value.params),
          outcome: 'accept',
        });
      } else {
        analysis.uncovered.add(method);
      }
      return;
    }
    if (value.id === -1) return; // the answer to an unparseable frame
    if (!isId(value.id)) throw new Error(`${where}: server message without a usable id`);
    const pending = pendingOn(connection);
    const request = pending.get(value.id);
    if (!request) throw new Error(`${where}: response to unknown request id ${value.id}`);
    pending.delete(value.id);
    request.response = value;
  });

  for (const request of sent) {
    const { method, where, params, response } = request;
    if (!isRequestMethod(method)) {
      analysis.uncovered.add(method);
      continue;
    }
    const spec = requests[method];
    const serverError = isErrorObject(response?.error) ? response.error : undefined;
    // Params decoding runs before every state check, so only -32602 means "bad params". Requests
    // with no response at all (the connection was dropped for frame size) had valid params too.
    analysis.checks.push({
      where,
      method,
      kind: 'params',
      schema: spec.params,
      input: params,
      outcome: serverError?.code === -32602 ? 'reject' : 'accept',
      ...(serverError ? { serverError } : {}),
    });
    if (response && Object.hasOwn(response, 'result')) {
      analysis.checks.push({
        where,
        method,
        kind: 'result',
        schema: spec.result,
        input: substitute(response.result),
        outcome: 'accept',
      });
    }
  }
  return analysis;
}

const analyses = new Map(files.map((file) => [file, analyze(file)]));

function runCheck(check: Check): void {
  const label = `${check.where} ${check.kind} of ${check.method}`;
  const parsed = check.schema.safeParse(check.input);
  if (check.outcome === 'reject') {
    expect(parsed.success, `${label} should be rejected like the reference did`).toBe(false);
    const message = check.serverError?.message ?? '';
    if (!parsed.success && VERBATIM_PARAM_ERRORS.test(message)) {
      expect(
        parsed.error.issues.map((issue) => issue.message),
        label,
      ).toContain(message);
    }
    return;
  }
  expect(parsed.error?.issues, label).toBeUndefined();
  if (!parsed.success) return;
  if (check.input === undefined) {
    expect(parsed.data, label).toBeUndefined();
    return;
  }
  // Re-encode and compare: unknown members survive, nothing is added or dropped.
  expect(JSON.parse(JSON.stringify(parsed.data)), label).toStrictEqual(check.input);
}

describe('exec-server transcripts', () => {
  it('finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(files)('%s parses with the exec schemas', (file) => {
    const analysis = analyses.get(file);
    expect(analysis).toBeDefined();
    for (const check of analysis?.checks ?? []) runCheck(check);
  });

  it('checks every covered method and nothing unknown slips through', () => {
    const counts = new Map<string, number>();
    const uncovered = new Set<string>();
    let accepted = 0;
    let rejected = 0;
    let placeholders = 0;
    for (const analysis of analyses.values()) {
      placeholders += analysis.placeholders;
      for (const method of analysis.uncovered) uncovered.add(method);
      for (const check of analysis.checks) {
        const key = `${check.kind} ${check.method}${check.outcome === 'reject' ? ' (rejected)' : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (check.outcome === 'accept') accepted += 1;
        else rejected += 1;
      }
    }

    for (const method of Object.keys(requests)) {
      expect(counts.get(`params ${method}`), `params of ${method}`).toBeGreaterThan(0);
      expect(counts.get(`result ${method}`), `result of ${method}`).toBeGreaterThan(0);
    }
    for (const method of Object.keys(notifications)) {
      expect(counts.get(`notification ${method}`), method).toBeGreaterThan(0);
    }
    for (const method of Object.keys(clientNotifications)) {
      expect(counts.get(`clientNotification ${method}`), method).toBeGreaterThan(0);
    }
    expect([...uncovered].sort()).toEqual(DELIBERATELY_UNKNOWN);
    expect(accepted).toBeGreaterThan(50);
    // -32602 answers: bad-inputs.jsonl has 9 (process/start ×6, process/read, process/write ×2),
    // fs.jsonl has 1 (fs/readFile with a relative path), fs-handles.jsonl has 5 (a relative path,
    // a missing handleId, null params ×3), http-request.jsonl has 9 (a missing requestId, null
    // params, a bad method, URL ×3, header name, header value, body base64), fs-write-walk.jsonl
    // has 8 (chunk base64, open mode ×2, null params ×2, walk options missing, null, incomplete),
    // environment.jsonl has 4 (params that are not unit).
    expect(rejected).toBe(36);
    expect(placeholders).toBeGreaterThan(0);
  });
});
