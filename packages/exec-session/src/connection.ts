import {
  type exec,
  type Logger,
  type Message,
  notification,
  type Served,
  type ServedConnection,
  silentLogger,
} from '@tether/protocol';
import type { MessageSink } from './delivery.js';
import { serveExec } from './dispatch.js';
import { describeEnvironment } from './environment.js';
import type { ExecContext } from './exec-context.js';
import { FileHandles } from './file-handles.js';
import { HttpRequests } from './http-request.js';
import { ProcessReaper } from './reaper.js';
import { SessionRegistry, type SessionRegistryOptions } from './registry.js';
import { probeSandbox, type SandboxSupport } from './sandbox.js';
import type { SandboxSettings } from './session.js';
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
  /** The method table's handlers, shared by every connection. */
  private readonly served: Served<ExecContext>;

  constructor(options: ExecServiceOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.served = serveExec(this.logger);
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
    return new ExecConnection(this, this.served, sink);
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
 * notification) and its requests, which protocol's `serve` decodes, gates (after decoding, as the
 * reference does) and hands to the handlers. Requests run concurrently; those naming the same
 * process or file handle start in arrival order.
 */
export class ExecConnection {
  private readonly service: ExecService;
  private readonly sink: ConnectionSink;
  private readonly state: ExecContext;
  private readonly requests: ServedConnection;
  private closed = false;

  constructor(service: ExecService, served: Served<ExecContext>, sink: ConnectionSink) {
    this.service = service;
    this.sink = sink;
    this.state = {
      host: service,
      sink,
      files: new FileHandles(),
      http: new HttpRequests((params, onWritten) => {
        if (!this.closed) sink.send(notification('http/request/bodyDelta', params), onWritten);
        else onWritten(new Error('connection closed'));
      }),
      attachment: undefined,
      initialized: false,
    };
    this.requests = served.connection(this.state, (message, written) =>
      sink.send(message, written),
    );
  }

  /** The session this connection is attached to, once `initialize` succeeded. */
  get sessionId(): string | undefined {
    return this.state.attachment?.session.id;
  }

  /** Handles one decoded message from the client. */
  handle(message: Message): void {
    if (this.closed) return;
    switch (message.kind) {
      case 'request':
        // never rejects: every failure is answered
        void this.requests.handle(message);
        return;
      case 'notification':
        if (message.method === 'initialized' && this.state.attachment) {
          this.state.initialized = true;
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
    this.state.files.closeAll();
    this.state.http.closeAll();
    if (this.state.attachment) this.service.registry.detach(this.state.attachment);
  }
}
