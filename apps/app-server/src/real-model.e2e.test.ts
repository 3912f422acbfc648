import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

// Opt-in: a turn against a real model server. TETHER_REAL_MODEL_BASE_URL names it (with
// TETHER_REAL_MODEL, TETHER_REAL_MODEL_WIRE_API = chat | responses, TETHER_REAL_MODEL_API_KEY);
// without it, a local Ollama on its default port is used when one answers.
const OLLAMA = 'http://127.0.0.1:11434/v1';
const configured = process.env.TETHER_REAL_MODEL_BASE_URL;
const baseUrl = configured || OLLAMA;
const apiKey = process.env.TETHER_REAL_MODEL_API_KEY;

/** The models the server lists, or why it could not be reached. */
async function probe(): Promise<{ models: string[] } | { problem: string }> {
  try {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/models`, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(configured ? 10_000 : 1_000),
    });
    if (!response.ok) return { problem: `GET ${baseUrl}/models answered HTTP ${response.status}` };
    const body = (await response.json()) as { data?: Array<{ id?: unknown }> };
    const models = (body.data ?? []).flatMap((m) => (typeof m.id === 'string' ? [m.id] : []));
    return { models };
  } catch (error) {
    return { problem: `${baseUrl} did not answer (${(error as Error).message})` };
  }
}

const found = await probe();
const model =
  process.env.TETHER_REAL_MODEL || ('models' in found ? found.models[0] : undefined) || undefined;
const skipReason =
  'problem' in found
    ? `no model server: ${found.problem}; set TETHER_REAL_MODEL_BASE_URL (and TETHER_REAL_MODEL) to run it`
    : model === undefined
      ? `${baseUrl} lists no model; set TETHER_REAL_MODEL`
      : undefined;
if (skipReason) console.warn(`skipping the real-model end-to-end test: ${skipReason}`);

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe.skipIf(skipReason !== undefined)('a turn against a real model server', () => {
  it('streams a reply to completion', async () => {
    const home = tempHome('tether-real-model-');
    const wireApi = process.env.TETHER_REAL_MODEL_WIRE_API || 'chat';
    writeFileSync(
      join(home, 'config.toml'),
      [
        `model = ${JSON.stringify(model)}`,
        'model_provider = "real"',
        '[model_providers.real]',
        'name = "Real model server"',
        `base_url = ${JSON.stringify(baseUrl)}`,
        `wire_api = ${JSON.stringify(wireApi)}`,
        ...(apiKey ? ['env_key = "TETHER_REAL_MODEL_API_KEY"'] : []),
        '',
      ].join('\n'),
    );
    const client = AppServerClient.spawnStdio(process.execPath, [cli], {
      env: { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn' },
    });
    if (client.child) children.push(client.child);
    await client.initialize({ name: 'real-model-e2e', version: '1' });
    const listed = await client.request('model/list', {});
    expect(listed.data.map((m) => m.id)).toContain(model);
    const { thread } = await client.request('thread/start', { cwd: home });
    const from = client.notifications.cursor;
    const { turn } = await client.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'Reply with one short sentence. Do not run any command.' }],
    });
    let status: string | undefined;
    await client.waitForNotification(
      'turn/completed',
      (p) => {
        const completed = p.turn as app.Turn;
        if (completed.id === turn.id) status = completed.status;
        return completed.id === turn.id;
      },
      { from, timeoutMs: 170_000 },
    );
    expect(status).toBe('completed');
    const replies = client.notifications
      .since(from)
      .filter((n) => n.method === 'item/completed')
      .map((n) => (n.params as { item: { type: string; text?: string } }).item)
      .filter((item) => item.type === 'agentMessage');
    expect(replies.at(-1)?.text?.trim()).toBeTruthy();
  }, 180_000);
});
