import { rmSync } from 'node:fs';
import type { app } from '@tether/protocol';
import { tempHome as newTempHome } from '@tether/test-kit';
import { afterEach } from 'vitest';

/** A temporary directory removed after the test. */
export function tempHome(): string {
  const dir = newTempHome('thread-store-');
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock that moves forward by `step` ms on every reading, from a fixed start. */
export function fakeClock(start = Date.UTC(2026, 0, 15, 9, 30, 0), step = 1000) {
  let now = start;
  const clock = () => {
    const value = now;
    now += step;
    return value;
  };
  clock.set = (value: number) => {
    now = value;
  };
  return clock;
}

export function userMessage(id: string, text: string): app.ThreadItem {
  return {
    type: 'userMessage',
    id,
    clientId: null,
    content: [{ type: 'text', text, text_elements: [] }],
  };
}

export function agentMessage(id: string, text: string): app.ThreadItem {
  return {
    type: 'agentMessage',
    id,
    text,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    moderation: null,
  };
}

export function commandExecution(id: string, status: 'inProgress' | 'completed'): app.ThreadItem {
  return {
    type: 'commandExecution',
    id,
    command: 'echo hi',
    cwd: '/work',
    processId: null,
    source: 'agent',
    status,
    commandActions: [],
    aggregatedOutput: status === 'completed' ? 'hi\n' : null,
    exitCode: status === 'completed' ? 0 : null,
    durationMs: status === 'completed' ? 5 : null,
    pluginId: null,
    scriptPath: null,
  };
}

export const tokenUsage: app.ThreadTokenUsage = {
  total: {
    totalTokens: 30,
    inputTokens: 20,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 10,
    reasoningOutputTokens: 0,
  },
  last: {
    totalTokens: 30,
    inputTokens: 20,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 10,
    reasoningOutputTokens: 0,
  },
  modelContextWindow: 128000,
};
