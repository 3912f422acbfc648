import type { ThreadSettings } from '../runtime.js';

/** Thread settings for tests: unsandboxed, never asking, no instructions; override what matters. */
export function testSettings(overrides: Partial<ThreadSettings> = {}): ThreadSettings {
  return {
    cwd: '/tmp',
    model: 'mock-model',
    modelProvider: 'mock',
    approvalPolicy: 'never',
    sandbox: { type: 'dangerFullAccess' },
    activePermissionProfile: null,
    reasoningEffort: null,
    reasoningSummary: null,
    serviceTier: null,
    baseInstructions: null,
    developerInstructions: null,
    ...overrides,
  };
}
