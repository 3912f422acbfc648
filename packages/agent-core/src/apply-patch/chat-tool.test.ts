import { describe, expect, it } from 'vitest';
import { chatRequestBody } from '../model/chat/request.js';
import { APPLY_PATCH_FREEFORM_TOOL } from './tool.js';

describe('apply_patch over the Chat Completions API', () => {
  it('goes as a function whose one `input` string carries the patch (the API has no custom tools)', () => {
    const body = chatRequestBody({ input: [], tools: [APPLY_PATCH_FREEFORM_TOOL] }, 'm');
    expect(body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'apply_patch',
          description: APPLY_PATCH_FREEFORM_TOOL.description,
          parameters: {
            type: 'object',
            properties: { input: { type: 'string' } },
            required: ['input'],
            additionalProperties: false,
          },
        },
      },
    ]);
  });
});
