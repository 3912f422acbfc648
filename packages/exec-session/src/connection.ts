import {
  type ErrorObject,
  errorResponse,
  exec,
  internalError,
  invalidParams,
  invalidRequest,
  isRpcError,
  type Logger,
  type Message,
  methodNotFound,
  notification,
  parseWith,
  type RequestId,
  type RequestMessage,
  response,
  silentLogger,
} from '@tether/protocol';
import { describeEnvironment } from './environment.js';
import { FileHandles } from './file-handles.js';
import {
  canonicalizeMethod,
  copyMethod,
  createDirectoryMethod,
  getMetadataMethod,
  readDirectoryMethod,
  readFileMethod,
  removeMethod,
  uriToPath,
  writeFileMethod,
} from './fs-methods.js';
import { walkMethod } from './fs-walk.js';
import { HttpRequests } from './http-request.js';
import { fsFailure } from './os-error.js';
import { ProcessReaper } from './reaper.js';
import { SessionRegistry, type SessionRegistryOptions } from './registry.js';
import { checkAccess, probeSandbox, type SandboxSupport } from './sandbox.js';
import {
  type Attachment,
  type MessageSink,
  RESUMED_ELSEWHERE_MESSAGE,
  type SandboxSettings,
  sandboxLayout,
} from './session.js';
import { Spawner } from './spawner.js';

/** A connection as the exec-server core sees it: somewhere to send messages, and a way to drop it. */
export interface ConnectionSink extends MessageSink {
  /** Drops the connection without a reply (the reference does this on protocol violations). */
  drop(reason: string): void;
}

export interface ExecServiceOptions extends SessionRegistryOptions {
  /**
   * Fork pipe processes from a small helper process rather than from the server (whose fork cost
   * grows with its memory). Default false; tether-exec-server turns it on.
   */
  spawnHelper?: boolean;
  /** How many spawn helpers fork in parallel (1). */
  spawnHelpers?: number;
  /** Fields of `environmentInfo` to override (for example `capabilities`). */
  environmentInfo?: Partial<exec.EnvironmentInfo>;
  logger?: Logger;
}

/** The reference's struct names, for `invalid type: null, expected struct X`. */
const PARAMS_STRUCT: Record<exec.RequestMethod, string | undefined> = {
  initialize: 'InitializeParams',
  'environment/info': undefined,
  'environment/status': undefined,
  'process/start': 'ExecParams',
  'process/read': 'ReadParams',
  'process/write': 'WriteParams',
  'process/signal': 'SignalParams',
  'process/terminate': 'TerminateParams',
  'fs/readFile': 'FsReadFileParams',
  'fs/writeFile': 'FsWriteFileParams',
  'fs/createDirectory': 'FsCreateDirectoryParams',
  'fs/getMetadata': 'FsGetMetadataParams',
  'fs/readDirectory': 'FsReadDirectoryParams',
  'fs/remove': 'FsRemoveParams',
  'fs/copy': 'FsCopyParams',
  'fs/canonicalize': 'FsCanonicalizeParams',
  'fs/open': 'WireFsOpenParams',
  'fs/readBlock': 'FsReadBlockParams',
  'fs/writeBlock': 'FsWriteBlockParams',
  'fs/close': 'FsCloseParams',
  'fs/walk': 'WireFsWalkParams',
  'http/request': 'HttpRequestParams',
};

/** How the lifecycle gate's messages name a method's kind (`... before using X methods`). */
function methodKind(method: exec.RequestMethod): string {
  if (method.startsWith('fs/')) return 'filesystem';
  if (method.startsWith('http/')) return 'http';
  if (method === 'environment/info') return 'environment info';
  if (method === 'environment/status') return 'environment status';
  return 'exec';
}

type Decoded = { ok: true; params: unknown } | { ok: false; error: ErrorObject };

function decodeParams(method: exec.RequestMethod, raw: unknown): Decoded {
  const input = raw === undefined ? null : raw;
  const struct = PARAMS_STRUCT[method];
  if (struct && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    return {
      ok: false,
      error: invalidParams(
        `invalid type: ${exec.serdeValueName(input)}, expected struct ${struct}`,
      ),
    };
  }
  // serde's `from_value` messages name no path (`invalid type: …, expected a sequence`)
  const parsed = parseWith(exec.requests[method].params, input, {
    pathSuffix: false,
    flavor: 'exec-server',
  });
  if (parsed.ok) return { ok: true, params: parsed.value };
  return { ok: false, error: invalidParams(parsed.message) };
}

/**
 * The exec-server core: sessions, processes and filesystem methods behind one JSON-RPC handler per
 * connection. It knows nothing about websockets: a connection is a {@link ConnectionSink}.
 */
export class ExecService {
  readonly registry: SessionRegistry;
  readonly environmentInfo: exec.EnvironmentInfo;
  /** What every sandbox hides or keeps read-only, and which bubblewrap runs it. */
  readonly sandboxSettings: SandboxSettings;
  /** Whether bubblewrap works here (sandboxed commands fail with its `problem` otherwise). */
  readonly sandboxSupport: Promise<SandboxSupport>;
  readonly logger: Logger;
  private spawners: Promise<Array<Spawner | undefined>> | undefined;
  private readonly helperCount: number;
  /** Kills every process group this service started if the server dies without cleaning up. */
  readonly reaper: ProcessReaper;

  constructor(options: ExecServiceOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.helperCount = options.spawnHelper ? Math.max(1, options.spawnHelpers ?? 1) : 0;
    this.reaper =
      options.reaper ??
      new ProcessReaper({
        onTrouble: (error) =>
          this.logger.warn(
            { err: error },
            'process reaper unavailable; children may outlive a crashed server',
          ),
      });
    let turn = 0;
    const spawner = options.spawnHelper
      ? async () => {
          const pool = await this.startSpawnHelpers();
          turn = (turn + 1) % pool.length;
          return pool[turn];
        }
      : undefined;
    this.registry = new SessionRegistry({
      ...options,
      ...(spawner ? { spawner } : {}),
      reaper: this.reaper,
      onExpired: (sessionId) => {
        this.logger.info({ sessionId }, 'detached session expired; its processes were killed');
        options.onExpired?.(sessionId);
      },
    });
    this.environmentInfo = describeEnvironment(options.environmentInfo);
    this.sandboxSettings = options.sandbox ?? {};
    // `capabilities.linuxSandbox` says whether sandboxed commands can run here; known once the
    // probe ran (apps await `sandboxSupport` before listening)
    this.sandboxSupport = probeSandbox(
      options.sandbox?.bwrap ? { bwrap: options.sandbox.bwrap } : {},
    ).then((support) => {
      this.environmentInfo.capabilities = {
        ...this.environmentInfo.capabilities,
        linuxSandbox: support.available,
      };
      if (!support.available) this.logger.warn({ problem: support.problem }, 'sandbox unavailable');
      return support;
    });
  }

  /** A handler for one new connection. */
  connect(sink: ConnectionSink): ExecConnection {
    return new ExecConnection(this, sink);
  }

  /**
   * Starts the spawn helpers now rather than on the first `process/start` (which would otherwise
   * wait for a Node process to boot). Resolves once they are ready; a helper that fails to start is
   * logged and replaced by forking from the server. Nothing to do without `spawnHelper`.
   */
  startSpawnHelpers(): Promise<Array<Spawner | undefined>> {
    this.spawners ??= Promise.all(
      Array.from({ length: this.helperCount }, () =>
        Spawner.start().catch((error: unknown) => {
          this.logger.warn({ err: error }, 'spawn helper failed to start; forking directly');
          return undefined;
        }),
      ),
    );
    return this.spawners;
  }

  /** The spawn helpers, once they run (for diagnostics and measurements). */
  async spawnHelpers(): Promise<Spawner[]> {
    return ((await this.spawners) ?? []).filter((s): s is Spawner => s !== undefined);
  }

  /** Kills every managed process group (and stops the spawn helper). */
  shutdown(): void {
    this.registry.shutdown();
    this.reaper.close();
    this.spawners?.then((pool) => {
      for (const spawner of pool) spawner?.close();
    });
  }
}

/**
 * One connection's JSON-RPC state: the handshake (initialize once, then the `initialized`
 * notification), the lifecycle gate, params decoding (before the gate, as the reference does) and
 * dispatch. Requests run concurrently; those naming the same `processId` start in arrival order.
 */
export class ExecConnection {
  private readonly service: ExecService;
  private readonly sink: ConnectionSink;
  private attachment: Attachment | undefined;
  private initialized = false;
  private closed = false;
  private readonly chains = new Map<string, Promise<void>>();
  /** Calls naming the same file handle run one after another, as on the reference. */
  private readonly handleChains = new Map<string, Promise<void>>();
  /** `fs/open` handles: the connection's own, closed with it (they do not follow a resume). */
  private readonly files = new FileHandles();
  /** `http/request` calls in flight, aborted when the connection closes. */
  private readonly http: HttpRequests;

  constructor(service: ExecService, sink: ConnectionSink) {
    this.service = service;
    this.sink = sink;
    this.http = new HttpRequests((params, onWritten) => {
      if (!this.closed) sink.send(notification('http/request/bodyDelta', params), onWritten);
      else onWritten(new Error('connection closed'));
    });
  }

  /** The session this connection is attached to, once `initialize` succeeded. */
  get sessionId(): string | undefined {
    return this.attachment?.session.id;
  }

  /** Handles one decoded message from the client. */
  handle(message: Message): void {
    if (this.closed) return;
    switch (message.kind) {
      case 'request':
        this.onRequest(message);
        return;
      case 'notification':
        if (message.method === 'initialized' && this.attachment) {
          this.initialized = true;
          return;
        }
        this.sink.drop(
          message.method === 'initialized'
            ? 'initialized sent before initialize'
            : `unexpected notification ${message.method}`,
        );
        return;
      default:
        this.sink.drop(`unexpected ${message.kind} from client`);
    }
  }

  /** The connection is gone: its session detaches (its processes keep running). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.files.closeAll();
    this.http.closeAll();
    if (this.attachment) this.service.registry.detach(this.attachment);
  }

  private reply(id: RequestId, result: unknown, onWritten?: (error?: Error) => void): void {
    this.sink.send(response(id, result), onWritten);
  }

  private fail(id: RequestId, error: ErrorObject): void {
    this.sink.send(errorResponse(id, error));
  }

  private failWith(id: RequestId, error: unknown): void {
    if (isRpcError(error)) {
      this.fail(id, error.toErrorObject());
      return;
    }
    this.service.logger.error({ err: error, requestId: id }, 'exec request failed');
    this.fail(id, internalError(error instanceof Error ? error.message : String(error)));
  }

  private onRequest(request: RequestMessage): void {
    const { id, method } = request;
    if (!exec.isRequestMethod(method)) {
      this.fail(id, methodNotFound(`exec-server stub does not implement \`${method}\` yet`));
      return;
    }
    const decoded = decodeParams(method, request.params);
    if (!decoded.ok) {
      this.fail(id, decoded.error);
      return;
    }
    if (method === 'initialize') {
      this.initialize(id, decoded.params as exec.InitializeParams);
      return;
    }
    const kind = methodKind(method);
    const attachment = this.attachment;
    if (!attachment) {
      this.fail(id, invalidRequest(`client must call initialize before using ${kind} methods`));
      return;
    }
    if (!this.initialized) {
      this.fail(id, invalidRequest(`client must send initialized before using ${kind} methods`));
      return;
    }
    if (!attachment.current) {
      this.fail(id, invalidRequest(RESUMED_ELSEWHERE_MESSAGE));
      return;
    }
    this.dispatch(attachment, id, method, decoded.params);
  }

  private initialize(id: RequestId, params: exec.InitializeParams): void {
    if (this.attachment) {
      this.fail(id, invalidRequest('initialize may only be sent once per connection'));
      return;
    }
    const registry = this.service.registry;
    const resumeId = params.resumeSessionId;
    if (resumeId !== undefined && resumeId !== null) {
      const outcome = registry.resume(resumeId, this.sink);
      if (!outcome.ok) {
        // a failed initialize does not use up the one allowed
        this.fail(id, outcome.error);
        return;
      }
      this.attachment = outcome.attachment;
    } else {
      this.attachment = registry.create(this.sink).attachment;
    }
    this.reply(id, {
      sessionId: this.attachment.session.id,
      environmentInfo: this.service.environmentInfo,
    });
  }

  /**
   * Runs a filesystem method under its sandbox context: each path is checked as a command in that
   * sandbox would meet it (EROFS for a write outside its writable roots, EACCES for a hidden path),
   * before anything is touched.
   */
  private guarded<T>(
    context: exec.SandboxContext | null | undefined,
    paths: Array<[uri: string, access: 'read' | 'write' | 'remove']>,
    work: () => T,
  ): T {
    if (context) {
      const layout = sandboxLayout(context);
      if (layout) {
        const settings = this.service.sandboxSettings;
        for (const [uri, access] of paths) {
          try {
            const path = uriToPath(uri);
            if (access === 'remove') checkAccess(layout, path, 'write', settings, false);
            else checkAccess(layout, path, access, settings);
          } catch (error) {
            throw fsFailure(error);
          }
        }
      }
    }
    return work();
  }

  /** Runs `task` after the earlier tasks naming the same process have started. */
  private ordered(processId: string, task: () => Promise<void> | void): void {
    this.inOrder(this.chains, processId, task);
  }

  /** Runs `task` once the earlier tasks under the same key are done (or, for sync ones, ran). */
  private inOrder(
    chains: Map<string, Promise<void>>,
    key: string,
    task: () => Promise<void> | void,
  ): void {
    const previous = chains.get(key) ?? Promise.resolve();
    const next = previous.then(task).catch(() => {});
    chains.set(key, next);
    next.then(() => {
      if (chains.get(key) === next) chains.delete(key);
    });
  }

  private dispatch(
    attachment: Attachment,
    id: RequestId,
    method: Exclude<exec.RequestMethod, 'initialize'>,
    params: unknown,
  ): void {
    const session = attachment.session;
    const run = (work: () => Promise<unknown> | unknown): Promise<void> =>
      Promise.resolve()
        .then(work)
        .then(
          (result) => this.reply(id, result),
          (error: unknown) => this.failWith(id, error),
        );
    switch (method) {
      case 'environment/info':
        this.reply(id, this.service.environmentInfo);
        return;
      case 'environment/status':
        this.reply(id, { status: 'ready' });
        return;
      case 'process/start': {
        const p = params as exec.ProcessStartParams;
        this.ordered(p.processId, async () => {
          try {
            const cwd = uriToPath(p.cwd);
            await session.startProcess(attachment, p, cwd);
            // the reference names its Linux sandbox `linuxSeccomp` whenever a context is given
            this.reply(id, {
              processId: p.processId,
              sandboxType: p.sandbox ? 'linuxSeccomp' : 'none',
            });
            session.announce(p.processId);
          } catch (error) {
            this.failWith(id, error);
          }
        });
        return;
      }
      case 'process/read': {
        const p = params as exec.ProcessReadParams;
        this.ordered(p.processId, () => {
          // the read's snapshot is taken in order; a long poll does not hold back later calls
          session.read(attachment, p).then(
            (result) => {
              let bytes = 200;
              for (const chunk of result.chunks) bytes += chunk.chunk.length + 48;
              this.reply(id, result, (error) => {
                if (!error) session.readDelivered(attachment, p.processId, result.nextSeq, bytes);
              });
            },
            (error: unknown) => this.failWith(id, error),
          );
        });
        return;
      }
      case 'process/write': {
        const p = params as exec.ProcessWriteParams;
        this.ordered(p.processId, () => {
          try {
            this.reply(id, { status: session.write(p) });
          } catch (error) {
            this.failWith(id, error);
          }
        });
        return;
      }
      case 'process/signal': {
        const p = params as exec.ProcessSignalParams;
        this.ordered(p.processId, () => {
          try {
            session.signal(p);
            this.reply(id, {});
          } catch (error) {
            this.failWith(id, error);
          }
        });
        return;
      }
      case 'process/terminate': {
        const p = params as exec.ProcessTerminateParams;
        this.ordered(p.processId, () => {
          this.reply(id, { running: session.terminate(p.processId) });
        });
        return;
      }
      case 'fs/readFile': {
        const p = params as exec.FsReadFileParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'read']], () => readFileMethod(p)));
        return;
      }
      case 'fs/writeFile': {
        const p = params as exec.FsWriteFileParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'write']], () => writeFileMethod(p)));
        return;
      }
      case 'fs/createDirectory': {
        const p = params as exec.FsCreateDirectoryParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'write']], () => createDirectoryMethod(p)));
        return;
      }
      case 'fs/getMetadata': {
        const p = params as exec.FsGetMetadataParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'read']], () => getMetadataMethod(p)));
        return;
      }
      case 'fs/readDirectory': {
        const p = params as exec.FsReadDirectoryParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'read']], () => readDirectoryMethod(p)));
        return;
      }
      case 'fs/remove': {
        const p = params as exec.FsRemoveParams;
        // removing a symlink touches the link, not what it points to
        run(() => this.guarded(p.sandbox, [[p.path, 'remove']], () => removeMethod(p)));
        return;
      }
      case 'fs/copy': {
        const p = params as exec.FsCopyParams;
        run(() =>
          this.guarded(
            p.sandbox,
            [
              [p.sourcePath, 'read'],
              [p.destinationPath, 'write'],
            ],
            () => copyMethod(p),
          ),
        );
        return;
      }
      case 'fs/canonicalize': {
        const p = params as exec.FsCanonicalizeParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'read']], () => canonicalizeMethod(p)));
        return;
      }
      case 'fs/open': {
        const p = params as exec.FsOpenParams;
        const access = p.mode === 'replace' ? 'write' : 'read';
        this.inOrder(this.handleChains, p.handleId, () =>
          run(() => this.guarded(p.sandbox, [[p.path, access]], () => this.files.open(p))),
        );
        return;
      }
      case 'fs/readBlock': {
        const p = params as exec.FsReadBlockParams;
        this.inOrder(this.handleChains, p.handleId, () => run(() => this.files.readBlock(p)));
        return;
      }
      case 'fs/writeBlock': {
        const p = params as exec.FsWriteBlockParams;
        this.inOrder(this.handleChains, p.handleId, () => run(() => this.files.writeBlock(p)));
        return;
      }
      case 'fs/walk': {
        const p = params as exec.FsWalkParams;
        run(() => this.guarded(p.sandbox, [[p.path, 'read']], () => walkMethod(p)));
        return;
      }
      case 'fs/close': {
        const p = params as exec.FsCloseParams;
        this.inOrder(this.handleChains, p.handleId, () => run(() => this.files.close(p)));
        return;
      }
      case 'http/request':
        this.http.run(params as exec.HttpRequestParams).then(
          ({ result, stream, written }) => {
            // the result goes out before the first body delta
            this.reply(id, result, () => written());
            stream?.();
          },
          (error: unknown) => this.failWith(id, error),
        );
        return;
    }
  }
}
