import { silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRuntimeFactory } from './agent.js';
import { ResponsesClient } from './model/index.js';
import {
  BUILT_IN_CATALOGUE,
  ModelCatalogueError,
  parseModelCatalogue,
  reportedContextWindow,
} from './model-catalogue.js';
import type { ThreadEvent, ThreadRuntime } from './runtime.js';
import { testSettings } from './test-support/settings.js';
import { MockResponsesServer } from './testing/index.js';

describe('the built-in catalogue', () => {
  it('lists codex 0.169.0 models by priority, hidden ones marked', () => {
    const entries = BUILT_IN_CATALOGUE.entries();
    expect(entries.map((e) => e.slug)).toEqual([
      'gpt-6.1-sol',
      'gpt-6-astra',
      'gpt-6-sol',
      'gpt-6-luna',
      'gpt-5.6-sol',
      'gpt-6.1-terra',
      'gpt-5.6-terra',
      'gpt-5.6-luna',
      'gpt-daybreak-blue-latest',
      'gpt-daybreak-red-latest',
      'gpt-5.5',
      'codex-auto-review',
    ]);
    expect(entries.filter((e) => e.hidden).map((e) => e.slug)).toEqual([
      'gpt-daybreak-blue-latest',
      'gpt-daybreak-red-latest',
      'codex-auto-review',
    ]);
  });

  it("gives a catalogued model its default effort and no summary, an unknown one the reference's fallback", () => {
    expect(BUILT_IN_CATALOGUE.reasoningDefaults('gpt-5.5')).toEqual({
      effort: 'medium',
      summary: 'none',
      summaryParameter: true,
    });
    expect(BUILT_IN_CATALOGUE.reasoningDefaults('gpt-6.1-sol').effort).toBe('low');
    expect(BUILT_IN_CATALOGUE.reasoningDefaults('llama3')).toEqual({
      effort: null,
      summary: 'auto',
      summaryParameter: true,
    });
  });
});

describe('a model_catalog_json file', () => {
  it('fills what a hand-written entry leaves out and drives the context window', () => {
    const catalogue = parseModelCatalogue(
      JSON.stringify({
        models: [
          {
            slug: 'qwen3-coder',
            display_name: 'Qwen3 Coder',
            context_window: 131_072,
            default_reasoning_level: 'high',
            supported_reasoning_levels: [{ effort: 'low' }, { effort: 'high' }],
          },
          { slug: 'tiny', visibility: 'hide', priority: -1 },
        ],
      }),
    );
    expect(catalogue.entries().map((e) => e.slug)).toEqual(['tiny', 'qwen3-coder']);
    const qwen = catalogue.get('qwen3-coder');
    expect(qwen).toMatchObject({
      displayName: 'Qwen3 Coder',
      description: '',
      hidden: false,
      supportedReasoningEfforts: ['low', 'high'],
      inputModalities: ['text', 'image'],
    });
    expect(catalogue.get('tiny')?.hidden).toBe(true);
    expect(reportedContextWindow(catalogue.contextInfo('qwen3-coder'))).toBe(124_518);
    expect(catalogue.reasoningDefaults('qwen3-coder')).toEqual({
      effort: 'high',
      summary: 'auto',
      summaryParameter: true,
    });
    // the file replaces the built-in catalogue
    expect(catalogue.has('gpt-5.5')).toBe(false);
  });

  it('names what is wrong with a file it cannot use', () => {
    expect(() => parseModelCatalogue('{')).toThrow(ModelCatalogueError);
    expect(() => parseModelCatalogue('{"models":[{"display_name":"x"}]}')).toThrow(
      /models\.0\.slug/,
    );
  });
});

describe('the reasoning the model is sent', () => {
  const mocks: MockResponsesServer[] = [];
  const runtimes: ThreadRuntime[] = [];
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.shutdown();
    for (const mock of mocks.splice(0)) await mock.close();
  });

  async function firstRequestFor(model: string, catalogue = BUILT_IN_CATALOGUE) {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const rt = agentRuntimeFactory({
      model: new ResponsesClient({ model, baseUrl: mock.baseUrl, maxRetries: 0 }),
      environment: async () => {
        throw new Error('no commands here');
      },
      catalogue,
    })({
      threadId: 'thread-1',
      settings: { ...testSettings(), model },
      conversation: [],
      tokenUsage: null,
      logger: silentLogger(),
    });
    runtimes.push(rt);
    const events: ThreadEvent[] = [];
    void (async () => {
      for await (const event of rt.events()) events.push(event);
    })();
    await rt.startTurn({
      input: [{ type: 'text', text: 'hi' }],
      clientUserMessageId: null,
      settings: { ...testSettings(), model },
    });
    await waitFor(() =>
      events.some((e) => e.kind === 'notification' && e.method === 'turn/completed'),
    );
    const tokenUsage = events.find(
      (e) => e.kind === 'notification' && e.method === 'thread/tokenUsage/updated',
    );
    return { body: mock.requests[0]?.body, tokenUsage };
  }

  it("sends a catalogued model's default effort, as the reference does", async () => {
    const { body } = await firstRequestFor('gpt-5.5');
    expect(body?.reasoning).toEqual({ effort: 'medium' });
  });

  it('sends a configured catalogue entry its effort and reports its window', async () => {
    const catalogue = parseModelCatalogue(
      JSON.stringify({
        models: [{ slug: 'local-model', default_reasoning_level: 'high', context_window: 10_000 }],
      }),
    );
    const { body, tokenUsage } = await firstRequestFor('local-model', catalogue);
    expect(body?.reasoning).toEqual({ effort: 'high', summary: 'auto' });
    expect(tokenUsage).toMatchObject({ params: { tokenUsage: { modelContextWindow: 9_500 } } });
  });
});
