import { describe, expect, it } from 'vitest';
import { EXEC_COMMAND_TOOL, parseExecCommandArgs } from './tools.js';

describe('exec_command arguments', () => {
  it('parses the reference parameters and reports bad input to the model', () => {
    expect(
      parseExecCommandArgs(
        '{"cmd":"ls -la","workdir":"src","timeout_ms":500,"max_output_tokens":10}',
      ),
    ).toEqual({
      cmd: 'ls -la',
      workdir: 'src',
      timeoutMs: 500,
      maxOutputBytes: 40,
    });
    expect(parseExecCommandArgs('{not json')).toMatchObject({
      error: expect.stringMatching(/^failed to parse function arguments/),
    });
    expect(parseExecCommandArgs('{"workdir":"x"}')).toEqual({
      error: 'failed to parse function arguments: missing field `cmd`',
    });
    expect(EXEC_COMMAND_TOOL.parameters.required).toEqual(['cmd']);
  });
});
