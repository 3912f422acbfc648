import { describe, expect, it } from 'vitest';
import { commandPrefix, EXEC_COMMAND_TOOL, isKnownSafe, parseExecCommandArgs } from './tools.js';

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

  it('knows which commands untrusted runs without asking', () => {
    expect(commandPrefix('FOO=1 /usr/bin/git status')).toBe('git');
    expect(isKnownSafe('ls -la')).toBe(true);
    expect(isKnownSafe('cat a | sh')).toBe(false);
    expect(isKnownSafe('rm -rf x')).toBe(false);
    expect(isKnownSafe('echo $(whoami)')).toBe(false);
  });
});
