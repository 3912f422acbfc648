import { describe, expect, expectTypeOf, it } from 'vitest';
import { parseWith } from '../validate.js';
import * as exec from './index.js';
import {
  clientNotifications,
  EnvironmentInfo,
  FsCopyParams,
  FsCreateDirectoryParams,
  FsGetMetadataResult,
  FsRemoveParams,
  FsWriteFileParams,
  InitializedParams,
  InitializeParams,
  isClientNotificationMethod,
  isNotificationMethod,
  isRequestMethod,
  type NotificationParamsOf,
  notifications,
  type ParamsOf,
  ProcessExitedNotification,
  ProcessOutputNotification,
  ProcessReadParams,
  ProcessReadResult,
  ProcessSignalParams,
  ProcessStartParams,
  ProcessWriteParams,
  ProcessWriteResult,
  type RequestMethod,
  type ResultOf,
  requests,
} from './index.js';

const start = {
  processId: 'p1',
  argv: ['true'],
  cwd: 'file:///tmp',
  env: { PATH: '/usr/bin:/bin' },
  tty: false,
};

function messages(result: { success: boolean; error?: { issues: { message: string }[] } }) {
  return result.error?.issues.map((issue) => issue.message) ?? [];
}

/** The profile the reference sends for a read-only thread. */
const READ_ONLY_CONTEXT = {
  permissions: {
    type: 'managed',
    file_system: {
      type: 'restricted',
      entries: [{ path: { type: 'special', value: { kind: 'root' } }, access: 'read' }],
    },
    network: 'restricted',
  },
  cwd: 'file:///tmp',
  windowsSandboxLevel: 'disabled',
};

describe('process/start params', () => {
  it('accepts the minimal form and keeps unknown members', () => {
    const input = { ...start, futureFlag: { nested: true } };
    expect(ProcessStartParams.parse(input)).toStrictEqual(input);
  });

  it('accepts every optional member', () => {
    const input = {
      ...start,
      pipeStdin: true,
      arg0: null,
      envPolicy: {
        inherit: 'core',
        ignoreDefaultExcludes: false,
        exclude: ['AWS_*'],
        set: { FOO: 'bar' },
        includeOnly: [],
      },
      sandbox: READ_ONLY_CONTEXT,
      enforceManagedNetwork: false,
      managedNetwork: null,
    };
    expect(ProcessStartParams.parse(input)).toStrictEqual(input);
    expect(ProcessStartParams.parse({ ...start, arg0: 'custom' }).arg0).toBe('custom');
  });

  it.each(['processId', 'argv', 'cwd', 'env', 'tty'])('requires %s', (field) => {
    const input: Record<string, unknown> = { ...start };
    delete input[field];
    expect(ProcessStartParams.safeParse(input).success).toBe(false);
  });

  it('rejects an empty argv with the reference message', () => {
    const result = ProcessStartParams.safeParse({ ...start, argv: [] });
    expect(result.success).toBe(false);
    expect(messages(result).join('\n')).toContain('argv must not be empty');
  });

  it.each([
    ['argv', 'true'],
    ['argv', [1]],
    ['tty', 'true'],
    ['env', { A: 1 }],
    ['env', []],
    ['pipeStdin', null],
    ['arg0', 5],
    ['processId', 7],
    ['envPolicy', { inherit: 'some' }],
    ['envPolicy', { inherit: 'all', ignoreDefaultExcludes: false, exclude: [], set: {} }],
  ])('rejects %s = %j', (field, value) => {
    expect(ProcessStartParams.safeParse({ ...start, [field]: value }).success).toBe(false);
  });

  it('rejects a plain path as cwd with the reference message', () => {
    for (const cwd of ['/tmp', 'relative/dir']) {
      const result = ProcessStartParams.safeParse({ ...start, cwd });
      expect(messages(result)).toEqual(['invalid URI: relative URL without a base']);
    }
  });
});

describe('process/read, write, signal', () => {
  it('read params: optional non-negative integers, null same as absent', () => {
    expect(ProcessReadParams.parse({ processId: 'p' })).toStrictEqual({ processId: 'p' });
    const full = { processId: 'p', afterSeq: 0, maxBytes: 1, waitMs: 3000 };
    expect(ProcessReadParams.parse(full)).toStrictEqual(full);
    expect(ProcessReadParams.safeParse({ processId: 'p', afterSeq: null }).success).toBe(true);
    for (const bad of [-1, 1.5, '1', Number.MAX_SAFE_INTEGER + 2]) {
      expect(ProcessReadParams.safeParse({ processId: 'p', waitMs: bad }).success).toBe(false);
    }
    expect(ProcessReadParams.safeParse(null).success).toBe(false);
    expect(ProcessReadParams.safeParse(undefined).success).toBe(false);
  });

  it('read result: exitCode and failure are nullable, not optional', () => {
    const result = {
      chunks: [{ seq: 1, stream: 'pty', chunk: 'eA==' }],
      nextSeq: 2,
      exited: false,
      exitCode: null,
      closed: false,
      failure: null,
      sandboxDenied: false,
    };
    expect(ProcessReadResult.parse(result)).toStrictEqual(result);
    const { exitCode: _exitCode, ...withoutExitCode } = result;
    expect(ProcessReadResult.safeParse(withoutExitCode).success).toBe(false);
    const badStream = { ...result, chunks: [{ seq: 1, stream: 'stdin', chunk: '' }] };
    expect(ProcessReadResult.safeParse(badStream).success).toBe(false);
  });

  it('write params: writeId required, chunk must be base64', () => {
    const ok = { processId: 'p', chunk: '', writeId: 'w1' };
    expect(ProcessWriteParams.parse(ok)).toStrictEqual(ok);
    expect(ProcessWriteParams.safeParse({ processId: 'p', chunk: 'eA==' }).success).toBe(false);
    const bad = ProcessWriteParams.safeParse({ ...ok, chunk: '%%%' });
    expect(messages(bad)).toEqual(['Invalid symbol 37, offset 0.']);
  });

  it('write result statuses', () => {
    for (const status of ['accepted', 'unknownProcess', 'stdinClosed', 'starting']) {
      expect(ProcessWriteResult.parse({ status })).toStrictEqual({ status });
    }
    expect(ProcessWriteResult.safeParse({ status: 'closed' }).success).toBe(false);
  });

  it('signal params', () => {
    const ok = { processId: 'p', signal: 'interrupt' };
    expect(ProcessSignalParams.parse(ok)).toStrictEqual(ok);
    expect(ProcessSignalParams.safeParse({ processId: 'p', signal: 'kill' }).success).toBe(false);
    expect(ProcessSignalParams.safeParse({ processId: 'p' }).success).toBe(false);
  });

  it('notifications', () => {
    expect(
      ProcessOutputNotification.safeParse({ processId: 'p', seq: 1, stream: 'stdout', chunk: '!' })
        .success,
    ).toBe(false);
    expect(
      ProcessExitedNotification.safeParse({ processId: 'p', seq: 1, exitCode: 0 }).success,
    ).toBe(false);
    expect(
      ProcessExitedNotification.parse({
        processId: 'p',
        seq: 1,
        exitCode: -1,
        sandboxDenied: true,
      }),
    ).toStrictEqual({ processId: 'p', seq: 1, exitCode: -1, sandboxDenied: true });
  });
});

describe('handshake', () => {
  it('initialize params', () => {
    expect(InitializeParams.parse({ clientName: 'c' })).toStrictEqual({ clientName: 'c' });
    expect(InitializeParams.safeParse({ clientName: 'c', resumeSessionId: null }).success).toBe(
      true,
    );
    expect(InitializeParams.safeParse({}).success).toBe(false);
    expect(InitializeParams.safeParse({ clientName: 1 }).success).toBe(false);
  });

  it('initialized takes {} or nothing', () => {
    expect(InitializedParams.parse({})).toStrictEqual({});
    expect(InitializedParams.parse(undefined)).toBeUndefined();
    expect(InitializedParams.safeParse([]).success).toBe(false);
  });

  it('environment info requires its members', () => {
    const info = {
      shell: { name: 'bash', path: '/bin/bash' },
      executorVersion: '0.169.0',
      providerId: 'sha256:x',
      cwd: 'file:///srv',
      userHomeDir: 'file:///home/me',
      platformOs: 'linux',
      prependPathDirs: ['file:///opt/bin'],
      temporaryDirectories: [],
      tempDir: 'file:///tmp',
      capabilities: { fileWriteStreaming: true },
    };
    expect(EnvironmentInfo.parse(info)).toStrictEqual(info);
    expect(EnvironmentInfo.safeParse({ ...info, cwd: '/srv' }).success).toBe(false);
    expect(EnvironmentInfo.safeParse({ ...info, capabilities: { x: 'yes' } }).success).toBe(false);
    const { shell: _shell, ...withoutShell } = info;
    expect(EnvironmentInfo.safeParse(withoutShell).success).toBe(false);
  });
});

describe('fs', () => {
  it('paths must be file URIs', () => {
    expect(FsCreateDirectoryParams.safeParse({ path: 'relative/x' }).success).toBe(false);
    expect(FsCopyParams.safeParse({ sourcePath: 'file:///a', destinationPath: '/b' }).success).toBe(
      false,
    );
  });

  it('fs/copy requires recursive; fs/remove flags are optional', () => {
    expect(
      FsCopyParams.safeParse({ sourcePath: 'file:///a', destinationPath: 'file:///b' }).success,
    ).toBe(false);
    expect(FsRemoveParams.parse({ path: 'file:///a' })).toStrictEqual({ path: 'file:///a' });
    expect(FsRemoveParams.safeParse({ path: 'file:///a', force: 'no' }).success).toBe(false);
  });

  it('fs/writeFile leaves base64 checking to the handler (-32600 on the reference)', () => {
    const input = { path: 'file:///a', dataBase64: '!!not base64' };
    expect(FsWriteFileParams.parse(input)).toStrictEqual(input);
    expect(FsWriteFileParams.safeParse({ path: 'file:///a' }).success).toBe(false);
  });

  it('every fs method takes an optional sandbox', () => {
    for (const [sandbox, message] of [
      [{}, 'missing field `permissions`'],
      [
        'read-only',
        'invalid type: string "read-only", expected struct WireFileSystemSandboxContext',
      ],
      [
        { ...READ_ONLY_CONTEXT, windowsSandboxLevel: undefined },
        'missing field `windowsSandboxLevel`',
      ],
      [
        { ...READ_ONLY_CONTEXT, windowsSandboxLevel: 'bogus' },
        'unknown variant `bogus`, expected one of `disabled`, `restricted-token`, `elevated`, `mxc`',
      ],
    ] as const) {
      const parsed = parseWith(
        requests['fs/readFile'].params,
        { path: 'file:///a', sandbox },
        {
          pathSuffix: false,
          flavor: 'exec-server',
        },
      );
      expect(parsed.ok ? 'ok' : parsed.message).toBe(message);
    }
    const minimal: Record<string, Record<string, unknown>> = {
      'fs/readFile': { path: 'file:///a' },
      'fs/writeFile': { path: 'file:///a', dataBase64: '' },
      'fs/createDirectory': { path: 'file:///a' },
      'fs/getMetadata': { path: 'file:///a' },
      'fs/readDirectory': { path: 'file:///a' },
      'fs/remove': { path: 'file:///a' },
      'fs/copy': { sourcePath: 'file:///a', destinationPath: 'file:///b', recursive: false },
      'fs/canonicalize': { path: 'file:///a' },
      'fs/open': { handleId: 'h', path: 'file:///a' },
      'fs/readBlock': { handleId: 'h', offset: 0, len: 1 },
      'fs/writeBlock': { handleId: 'h', offset: 0, chunk: 'eA==' },
      'fs/close': { handleId: 'h' },
      'fs/walk': {
        path: 'file:///a',
        options: { maxDepth: 1, maxDirectories: 1, maxEntries: 1, followDirectorySymlinks: false },
      },
    };
    const fsMethods = Object.keys(requests).filter((m) => m.startsWith('fs/'));
    expect(fsMethods.sort()).toEqual(Object.keys(minimal).sort());
    for (const method of fsMethods) {
      if (!isRequestMethod(method)) throw new Error(method);
      // handle reads and closes name a handle, not a path: no sandbox context
      if (method === 'fs/readBlock' || method === 'fs/writeBlock' || method === 'fs/close')
        continue;
      const schema = requests[method].params;
      for (const sandbox of [undefined, null, READ_ONLY_CONTEXT]) {
        const input = sandbox === undefined ? minimal[method] : { ...minimal[method], sandbox };
        expect(schema.parse(input), method).toStrictEqual(input);
      }
    }
  });

  it('metadata sizes are integers', () => {
    const meta = {
      isDirectory: false,
      isFile: true,
      isSymlink: false,
      size: 12,
      createdAtMs: 0,
      modifiedAtMs: 1795313615674,
    };
    expect(FsGetMetadataResult.parse(meta)).toStrictEqual(meta);
    expect(FsGetMetadataResult.safeParse({ ...meta, size: 1.5 }).success).toBe(false);
  });
});

describe('method tables', () => {
  it('list the exec-server methods', () => {
    expect(Object.keys(requests).sort()).toEqual([
      'environment/info',
      'environment/status',
      'fs/canonicalize',
      'fs/close',
      'fs/copy',
      'fs/createDirectory',
      'fs/getMetadata',
      'fs/open',
      'fs/readBlock',
      'fs/readDirectory',
      'fs/readFile',
      'fs/remove',
      'fs/walk',
      'fs/writeBlock',
      'fs/writeFile',
      'http/request',
      'initialize',
      'process/read',
      'process/signal',
      'process/start',
      'process/terminate',
      'process/write',
    ]);
    expect(Object.keys(notifications).sort()).toEqual([
      'http/request/bodyDelta',
      'process/closed',
      'process/exited',
      'process/output',
    ]);
    expect(Object.keys(clientNotifications)).toEqual(['initialized']);
  });

  it('guards only accept own keys', () => {
    expect(isRequestMethod('process/start')).toBe(true);
    expect(isRequestMethod('toString')).toBe(false);
    expect(isRequestMethod('process/output')).toBe(false);
    expect(isNotificationMethod('process/output')).toBe(true);
    expect(isNotificationMethod('constructor')).toBe(false);
    expect(isClientNotificationMethod('initialized')).toBe(true);
    expect(isClientNotificationMethod('bogus/notification')).toBe(false);
  });

  it('has no default export', () => {
    expect(Object.hasOwn(exec, 'default')).toBe(false);
  });

  it('type helpers resolve to the schema outputs', () => {
    expectTypeOf<RequestMethod>().toEqualTypeOf<keyof typeof requests>();
    expectTypeOf<ParamsOf<'process/start'>>().toEqualTypeOf<ProcessStartParams>();
    expectTypeOf<ResultOf<'process/write'>['status']>().toEqualTypeOf<
      'accepted' | 'unknownProcess' | 'stdinClosed' | 'starting'
    >();
    expectTypeOf<NotificationParamsOf<'process/output'>['stream']>().toEqualTypeOf<
      'stdout' | 'stderr' | 'pty'
    >();
    expectTypeOf<ParamsOf<'process/read'>['afterSeq']>().toEqualTypeOf<number | null | undefined>();
  });
});

describe("the exec-server decoder's words (flavor: 'exec-server')", () => {
  // every expectation below is what codex 0.169.0 answered for the same params
  const message = (method: RequestMethod, params: unknown) => {
    const parsed = parseWith(requests[method].params, params, {
      pathSuffix: false,
      flavor: 'exec-server',
    });
    return parsed.ok ? undefined : parsed.message;
  };
  const read = (afterSeq: unknown) => message('process/read', { processId: 'x', afterSeq });

  it('says invalid number for an integer out of range, and expects u64 otherwise', () => {
    expect(read(-1)).toBe('invalid number');
    expect(read(1.5)).toBe('invalid number');
    expect(read(2 ** 64)).toBe('invalid number');
    expect(read('0')).toBe('invalid type: string "0", expected u64');
    expect(read(true)).toBe('invalid type: boolean `true`, expected u64');
    expect(read(null)).toBeUndefined();
    expect(message('fs/readBlock', { handleId: 'h', offset: 0, len: -1 })).toBe('invalid number');
    expect(
      message('http/request', { requestId: 'r', method: 'GET', url: 'http://a/', timeoutMs: -5 }),
    ).toBe('invalid number');
  });

  it('names found values as serde does', () => {
    const close = (handleId: unknown) => message('fs/close', { handleId });
    expect(close(5)).toBe('invalid type: number, expected a string');
    expect(close(1.5)).toBe('invalid type: number, expected a string');
    expect(close(true)).toBe('invalid type: boolean `true`, expected a string');
    expect(close(null)).toBe('invalid type: null, expected a string');
    expect(close({})).toBe('invalid type: map, expected a string');
    expect(close([])).toBe('invalid type: sequence, expected a string');
    expect(
      message('process/start', {
        processId: 'x',
        argv: 'true',
        cwd: 'file:///t',
        env: {},
        tty: false,
      }),
    ).toBe('invalid type: string "true", expected a sequence');
  });

  it('words enums and nested structs as serde does', () => {
    const open = (mode: unknown) => message('fs/open', { handleId: 'h', path: 'file:///a', mode });
    expect(open('REPLACE')).toBe('unknown variant `REPLACE`, expected `read` or `replace`');
    expect(open(null)).toBe('invalid type: null, expected string or map');
    expect(open('replace')).toBeUndefined();
    const signal = (value: unknown) => message('process/signal', { processId: 'x', signal: value });
    expect(signal('nope')).toBe('unknown variant `nope`, expected `interrupt`');
    expect(signal(5)).toBe('invalid type: number, expected string or map');
    const policy = { ignoreDefaultExcludes: true, exclude: [], set: {}, includeOnly: [] };
    expect(
      message('process/start', {
        processId: 'x',
        argv: ['a'],
        cwd: 'file:///t',
        env: {},
        tty: false,
        envPolicy: { inherit: 'most', ...policy },
      }),
    ).toBe('unknown variant `most`, expected one of `core`, `all`, `none`');
    const walk = (options: unknown) => message('fs/walk', { path: 'file:///a', options });
    expect(walk(null)).toBe('invalid type: null, expected struct WalkOptions');
    expect(walk(undefined)).toBe('missing field `options`');
    expect(walk({ maxDepth: 1 })).toBe('missing field `maxDirectories`');
  });
});
