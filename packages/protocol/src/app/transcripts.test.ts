import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  clientNotifications,
  clientRequests,
  isClientRequestMethod,
  isServerNotificationMethod,
  isServerRequestMethod,
  serverNotifications,
  serverRequests,
  ThreadItem,
  ThreadReadParams,
  ThreadStartParams,
  TurnStartParams,
} from './index.js';

const fixturesDir = new URL('../../fixtures/transcripts/app-server/', import.meta.url);

type Direction = 'C->S' | 'S->C';
type JsonObject = Record<string, unknown>;

interface TranscriptMessage {
  file: string;
  line: number;
  dir: Direction;
  conn: string;
  msg: JsonObject;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readTranscript(file: string): TranscriptMessage[] {
  const text = readFileSync(new URL(file, fixturesDir), 'utf8');
  const messages: TranscriptMessage[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const entry: unknown = JSON.parse(raw);
    if (!isObject(entry)) return;
    const { dir, conn, msg } = entry;
    if ((dir !== 'C->S' && dir !== 'S->C') || typeof conn !== 'string') return;
    // Raw (non-JSON) lines and JSON arrays (batches, which the reference drops) are skipped.
    if (!isObject(msg)) return;
    messages.push({ file, line: index + 1, dir, conn, msg });
  });
  return messages;
}

/** JSON-encodes and decodes a value, as sending it over the wire would (`undefined` stays). */
function reencode(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

const transcriptFiles = readdirSync(fixturesDir)
  .filter((name) => name.endsWith('.jsonl'))
  .sort();

interface Check {
  /** `method` for requests/notifications, `method → result` for responses. */
  key: string;
  where: string;
  schema: z.ZodType;
  value: unknown;
  /** The reference rejected these params with ``Invalid request: …``, so ours must reject them. */
  expectFailure: boolean;
}

/**
 * Walks every transcript and decides, for each message of a covered method, which schema must
 * accept it. Responses are matched to the latest request with the same id sent the other way on
 * the same connection.
 */
function collectChecks(): Check[] {
  const checks: Check[] = [];
  for (const file of transcriptFiles) {
    const messages = readTranscript(file);
    // Key: `${conn} ${direction of the request} ${JSON id}` → method.
    const pending = new Map<string, string>();
    // For client requests: index in `checks` of the params check, to flip it once the answer
    // turns out to be a deserialization error.
    const pendingCheck = new Map<string, number>();
    for (const { file: f, line, dir, conn, msg } of messages) {
      const where = `${f}:${line}`;
      const { id, method, params } = msg;
      const hasId = 'id' in msg;
      if (typeof method === 'string') {
        if (dir === 'C->S') {
          if (isClientRequestMethod(method)) {
            // Requests whose params are missing entirely are the server's business (it answers
            // ``missing field `params` ``); nothing to parse.
            if (params !== undefined) {
              checks.push({
                key: method,
                where,
                schema: clientRequests[method].params,
                value: params,
                expectFailure: false,
              });
            }
            if (hasId) {
              const key = `${conn} ${dir} ${JSON.stringify(id)}`;
              pending.set(key, method);
              if (params !== undefined) pendingCheck.set(key, checks.length - 1);
              else pendingCheck.delete(key);
            }
          } else if (method === 'initialized') {
            checks.push({
              key: method,
              where,
              schema: clientNotifications.initialized,
              value: params,
              expectFailure: false,
            });
          }
        } else if (hasId) {
          if (isServerRequestMethod(method)) {
            checks.push({
              key: method,
              where,
              schema: serverRequests[method].params,
              value: params,
              expectFailure: false,
            });
            pending.set(`${conn} ${dir} ${JSON.stringify(id)}`, method);
          }
        } else if (isServerNotificationMethod(method)) {
          checks.push({
            key: method,
            where,
            schema: serverNotifications[method],
            value: params,
            expectFailure: false,
          });
        }
        continue;
      }
      if (!hasId) continue;
      const requestDir: Direction = dir === 'S->C' ? 'C->S' : 'S->C';
      const key = `${conn} ${requestDir} ${JSON.stringify(id)}`;
      const requestMethod = pending.get(key);
      if (requestMethod === undefined) continue;
      if ('error' in msg) {
        const error = msg.error;
        const message = isObject(error) ? error.message : undefined;
        const checkIndex = pendingCheck.get(key);
        if (
          typeof message === 'string' &&
          message.startsWith('Invalid request:') &&
          checkIndex !== undefined
        ) {
          const check = checks[checkIndex];
          if (check) check.expectFailure = true;
        }
        continue;
      }
      if (!('result' in msg)) continue;
      if (dir === 'S->C' && isClientRequestMethod(requestMethod)) {
        checks.push({
          key: `${requestMethod} → result`,
          where,
          schema: clientRequests[requestMethod].result,
          value: msg.result,
          expectFailure: false,
        });
      } else if (dir === 'C->S' && isServerRequestMethod(requestMethod)) {
        checks.push({
          key: `${requestMethod} → result`,
          where,
          schema: serverRequests[requestMethod].result,
          value: msg.result,
          expectFailure: false,
        });
      }
    }
  }
  return checks;
}

const checks = collectChecks();

describe('app-server transcripts', () => {
  it('finds the transcripts', () => {
    expect(transcriptFiles.length).toBeGreaterThan(0);
  });

  it('parses every covered message and re-encodes it unchanged', () => {
    const failures: string[] = [];
    for (const check of checks) {
      if (check.expectFailure) continue;
      const result = check.schema.safeParse(check.value);
      if (!result.success) {
        failures.push(`${check.where} ${check.key}: ${result.error.message}`);
        continue;
      }
      // Round trip: what the schema hands back encodes to the same JSON value.
      expect(reencode(result.data), `${check.where} ${check.key}`).toStrictEqual(check.value);
    }
    expect(failures).toEqual([]);
  });

  it('rejects the params the reference rejected as invalid', () => {
    const rejected = checks.filter((check) => check.expectFailure);
    expect(rejected.length).toBeGreaterThan(0);
    for (const check of rejected) {
      expect(check.schema.safeParse(check.value).success, `${check.where} ${check.key}`).toBe(
        false,
      );
    }
  });

  it('checks every covered method that the transcripts use, and more than 100 messages', () => {
    const counts = new Map<string, number>();
    for (const check of checks) {
      if (check.expectFailure) continue;
      counts.set(check.key, (counts.get(check.key) ?? 0) + 1);
    }
    // Every covered method name seen anywhere in the transcripts (requests, notifications, server
    // requests, and the results answering them) must have been checked.
    const expected = new Set<string>();
    for (const file of transcriptFiles) {
      const messages = readTranscript(file);
      const pending = new Map<string, string>();
      for (const { dir, conn, msg } of messages) {
        const { id, method } = msg;
        if (typeof method === 'string') {
          const covered =
            dir === 'C->S'
              ? isClientRequestMethod(method) || method === 'initialized'
              : isServerNotificationMethod(method) || isServerRequestMethod(method);
          if (covered) expected.add(method);
          if ('id' in msg) pending.set(`${conn} ${dir} ${JSON.stringify(id)}`, method);
        } else if ('result' in msg) {
          const requestDir = dir === 'S->C' ? 'C->S' : 'S->C';
          const requestMethod = pending.get(`${conn} ${requestDir} ${JSON.stringify(id)}`);
          if (
            requestMethod !== undefined &&
            (isClientRequestMethod(requestMethod) || isServerRequestMethod(requestMethod))
          ) {
            expected.add(`${requestMethod} → result`);
          }
        }
      }
    }
    const unchecked = [...expected].filter((key) => (counts.get(key) ?? 0) === 0).sort();
    expect(unchecked).toEqual([]);
    // The core flow is in the transcripts; make sure it was actually exercised.
    for (const key of [
      'initialize',
      'initialize → result',
      'initialized',
      'thread/start',
      'thread/start → result',
      'turn/start → result',
      'item/started',
      'item/completed',
      'item/agentMessage/delta',
      'turn/completed',
      'item/commandExecution/requestApproval',
      'item/commandExecution/requestApproval → result',
    ]) {
      expect(counts.get(key) ?? 0, key).toBeGreaterThan(0);
    }
    const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBeGreaterThan(100);
  });
});

describe('app-server schemas', () => {
  const threadId = '01a20100-8a13-7090-b932-dc95a17bf942';

  it('rejects thread/read params without threadId', () => {
    expect(ThreadReadParams.safeParse({ includeTurns: true }).success).toBe(false);
    expect(ThreadReadParams.safeParse({ threadId }).success).toBe(true);
  });

  it('rejects wrong types', () => {
    expect(ThreadStartParams.safeParse({ cwd: 5 }).success).toBe(false);
    expect(ThreadReadParams.safeParse({ threadId: 5 }).success).toBe(false);
    expect(ThreadStartParams.safeParse({ sandbox: 'fullAccess' }).success).toBe(false);
    expect(
      TurnStartParams.safeParse({ threadId, input: [{ type: 'text', text: 1 }] }).success,
    ).toBe(false);
    expect(TurnStartParams.safeParse({ threadId, input: 'hi' }).success).toBe(false);
  });

  it('accepts null for optional nullable params', () => {
    const params = { cwd: null, model: null, approvalPolicy: null, sandbox: null, config: null };
    expect(ThreadStartParams.parse(params)).toEqual(params);
  });

  it('keeps unknown fields in thread/start params', () => {
    const params = {
      cwd: '/tmp/x',
      approvalPolicy: 'never',
      sandbox: 'danger-full-access',
      bogusField: 1,
      nested: { a: [1, 2] },
    };
    expect(ThreadStartParams.parse(params)).toEqual(params);
  });

  it('accepts granular approval policies and every approval decision', () => {
    const granular = {
      approvalPolicy: {
        granular: { sandbox_approval: true, rules: false, mcp_elicitations: true },
      },
    };
    expect(ThreadStartParams.parse(granular)).toEqual(granular);
    const response = serverRequests['item/commandExecution/requestApproval'].result;
    for (const decision of [
      'accept',
      'acceptForSession',
      'decline',
      'cancel',
      { acceptWithExecpolicyAmendment: { execpolicy_amendment: ['touch', 'x'] } },
      {
        applyNetworkPolicyAmendment: {
          network_policy_amendment: { host: 'example.com', action: 'allow' },
        },
      },
    ]) {
      expect(response.parse({ decision })).toEqual({ decision });
    }
    expect(response.safeParse({ decision: 'approve' }).success).toBe(false);
    expect(response.safeParse({}).success).toBe(false);
  });

  it('parses unknown ThreadItem types through the loose fallback', () => {
    const item = { type: 'webSearch', id: 'ws_1', query: 'zod', action: null, extra: { x: 1 } };
    expect(ThreadItem.parse(item)).toEqual(item);
    const future = { type: 'somethingNew', id: 'n_1', payload: [1, 2, 3] };
    expect(ThreadItem.parse(future)).toEqual(future);
    expect(ThreadItem.safeParse({ type: 'somethingNew' }).success).toBe(false);
  });

  it('does not let a malformed known item fall back to the loose variant', () => {
    expect(ThreadItem.safeParse({ type: 'userMessage', id: 'u1' }).success).toBe(false);
    expect(
      ThreadItem.safeParse({ type: 'agentMessage', id: 'a1', text: 5, phase: null }).success,
    ).toBe(false);
  });

  it('parses thread statuses', () => {
    const notification = serverNotifications['thread/status/changed'];
    for (const status of [
      { type: 'idle' },
      { type: 'notLoaded' },
      { type: 'systemError' },
      { type: 'active', activeFlags: ['waitingOnApproval'] },
    ]) {
      expect(notification.parse({ threadId, status })).toEqual({ threadId, status });
    }
    expect(notification.safeParse({ threadId, status: { type: 'active' } }).success).toBe(false);
    expect(notification.safeParse({ threadId, status: { type: 'busy' } }).success).toBe(false);
  });

  it('takes the initialize result with the reference keys only', () => {
    const result = {
      userAgent: 'probe/0.169.0',
      codexHome: '/home/u/.codex',
      platformFamily: 'unix',
      platformOs: 'linux',
    };
    expect(clientRequests.initialize.result.parse(result)).toEqual(result);
    expect(clientRequests.initialize.result.safeParse({ ...result, codexHome: 1 }).success).toBe(
      false,
    );
  });

  it('accepts initialized with or without params', () => {
    expect(clientNotifications.initialized.parse(undefined)).toBeUndefined();
    expect(clientNotifications.initialized.parse({})).toEqual({});
  });
});
