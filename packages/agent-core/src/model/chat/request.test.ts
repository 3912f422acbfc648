import { describe, expect, it } from 'vitest';
import { unansweredToolCall } from '../../testing/mock-chat.js';
import type { ResponseInputItem } from '../types.js';
import { chatMessages, chatRequestBody } from './request.js';

const user = (text: string): ResponseInputItem => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text }],
});

describe('chatMessages', () => {
  it('puts an assistant message and the calls after it in one message, answered by tool messages', () => {
    const messages = chatMessages([
      user('list and print the cwd'),
      {
        type: 'reasoning',
        id: 'rs_1',
        summary: [],
        encrypted_content: 'gAAA',
      },
      {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Running both.' }],
      },
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
      { type: 'function_call', call_id: 'c2', name: 'exec_command', arguments: '{"cmd":"pwd"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'a' },
      { type: 'function_call_output', call_id: 'c2', output: '/w' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done.' }] },
    ]);
    expect(messages).toEqual([
      { role: 'user', content: 'list and print the cwd' },
      {
        role: 'assistant',
        content: 'Running both.',
        tool_calls: [
          {
            id: 'c1',
            type: 'function',
            function: { name: 'exec_command', arguments: '{"cmd":"ls"}' },
          },
          {
            id: 'c2',
            type: 'function',
            function: { name: 'exec_command', arguments: '{"cmd":"pwd"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'a' },
      { role: 'tool', tool_call_id: 'c2', content: '/w' },
      { role: 'assistant', content: 'Done.' },
    ]);
    expect(unansweredToolCall({ messages })).toBeUndefined();
  });

  it('sends developer messages as system, and one call after a tool message opens a new message', () => {
    const messages = chatMessages([
      user('go'),
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'x' },
      {
        type: 'message',
        role: 'developer',
        content: [{ type: 'input_text', text: 'Approved command prefix saved.' }],
      },
      { type: 'function_call', call_id: 'c2', name: 'exec_command', arguments: '' },
      { type: 'function_call_output', call_id: 'c2', output: 'y' },
    ]);
    expect(messages).toEqual([
      { role: 'user', content: 'go' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'exec_command', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'x' },
      { role: 'system', content: 'Approved command prefix saved.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c2', type: 'function', function: { name: 'exec_command', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c2', content: 'y' },
    ]);
  });

  it('carries custom tool calls as function calls, drops outputs whose call is not sent', () => {
    const messages = chatMessages([
      user('patch it'),
      { type: 'custom_tool_call', call_id: 'p1', name: 'apply_patch', input: '*** Begin Patch' },
      { type: 'custom_tool_call_output', call_id: 'p1', output: 'Success.' },
      { type: 'function_call_output', call_id: 'gone', output: 'orphan' },
      { type: 'web_search_call', id: 'ws_1' },
    ]);
    expect(messages).toEqual([
      { role: 'user', content: 'patch it' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'p1',
            type: 'function',
            function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'p1', content: 'Success.' },
    ]);
  });

  it('sends a user message with an image as content parts, and tool output parts as text', () => {
    const messages = chatMessages([
      {
        type: 'message',
        role: 'user',
        content: [
          { type: 'input_text', text: 'what is this?' },
          { type: 'input_image', image_url: 'data:image/png;base64,AAAA' },
        ],
      },
      { type: 'function_call', call_id: 'c1', name: 'view', arguments: '{}' },
      {
        type: 'function_call_output',
        call_id: 'c1',
        output: [
          { type: 'input_text', text: 'line 1' },
          { type: 'input_text', text: 'line 2' },
        ],
      },
    ]);
    expect(messages[0]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      ],
    });
    expect(messages[2]).toEqual({ role: 'tool', tool_call_id: 'c1', content: 'line 1\nline 2' });
  });
});

describe('chatRequestBody', () => {
  it('leaves tools, effort and tier out when the request has none, and uses the request model', () => {
    expect(
      chatRequestBody({ model: 'other', input: [user('hi')], tools: [] }, 'configured'),
    ).toEqual({
      model: 'other',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(
      chatRequestBody(
        { input: [user('hi')], reasoningEffort: 'high', serviceTier: 'flex' },
        'configured',
      ),
    ).toMatchObject({ model: 'configured', reasoning_effort: 'high', service_tier: 'flex' });
  });
});

describe('the mock chat server', () => {
  it('refuses, as the real API, a call left unanswered and a tool message answering nothing', () => {
    const call = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
    };
    expect(unansweredToolCall({ messages: [call, { role: 'user', content: 'hi' }] })).toMatch(
      /did not have response messages: c1$/,
    );
    expect(unansweredToolCall({ messages: [call] })).toMatch(/c1$/);
    expect(
      unansweredToolCall({ messages: [{ role: 'tool', tool_call_id: 'x', content: '' }] }),
    ).toMatch(/must be a response to a preceeding message with 'tool_calls'/);
  });
});
