import { describe, expect, it } from 'vitest';
import { reasoningParam, UNKNOWN_MODEL_REASONING } from './reasoning.js';

const settings = (reasoningEffort: string | null, reasoningSummary: string | null) => ({
  reasoningEffort,
  reasoningSummary,
});

describe('reasoningParam', () => {
  // each case is what codex 0.169.0 sent for a model it has no metadata for
  it('sends summaries `auto` and no effort when nothing is set', () => {
    expect(reasoningParam(settings(null, null))).toEqual({ summary: 'auto' });
  });

  it('sends the effort and summary that are set', () => {
    expect(reasoningParam(settings('high', 'detailed'))).toEqual({
      effort: 'high',
      summary: 'detailed',
    });
  });

  it('leaves out a summary of `none`, down to an empty object', () => {
    expect(reasoningParam(settings('minimal', 'none'))).toEqual({ effort: 'minimal' });
    expect(reasoningParam(settings(null, 'none'))).toEqual({});
  });

  it("falls back to the model's defaults, and sends no summary to a model that takes none", () => {
    const known = { effort: 'medium', summary: 'none', summaryParameter: true };
    expect(reasoningParam(settings(null, null), known)).toEqual({ effort: 'medium' });
    expect(reasoningParam(settings('low', 'auto'), known)).toEqual({
      effort: 'low',
      summary: 'auto',
    });
    const noSummaries = { ...UNKNOWN_MODEL_REASONING, summaryParameter: false };
    expect(reasoningParam(settings('low', 'detailed'), noSummaries)).toEqual({ effort: 'low' });
  });
});
