import {
  describeZodError,
  exec,
  internalError,
  invalidParams,
  invalidRequest,
  type Logger,
  methodNotFound,
  type Served,
  serve,
} from '@tether/protocol';
import type { ExecContext } from './exec-context.js';
import { fsHandlers } from './fs-handlers.js';
import { handshakeHandlers } from './handshake-handlers.js';
import { httpHandlers } from './http-handlers.js';
import { processHandlers } from './process-handlers.js';
import { RESUMED_ELSEWHERE_MESSAGE } from './session.js';

/**
 * The reference's struct names, for `invalid type: null, expected struct X` (a method without one
 * takes no params).
 */
const PARAMS_STRUCT: { readonly [M in exec.RequestMethod]: string | undefined } = {
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

/** Absent params are serde's `null`. */
const asSerdeValue = (raw: unknown): unknown => (raw === undefined ? null : raw);

/**
 * The exec-server's methods served through protocol's one funnel: params decoded before the
 * lifecycle gate (as the reference does), serde's wording for params errors, requests naming the
 * same process or file handle in arrival order, and every failure that is not a JSON-RPC error
 * logged and answered as an internal error.
 */
export function serveExec(logger: Logger): Served<ExecContext> {
  return serve(
    exec.requests,
    { ...handshakeHandlers, ...processHandlers, ...fsHandlers, ...httpHandlers },
    {
      unknownMethod: (method) =>
        methodNotFound(`exec-server stub does not implement \`${method}\` yet`),
      precheck: (method, raw) => {
        const input = asSerdeValue(raw);
        const struct = PARAMS_STRUCT[method];
        if (!struct || (input !== null && typeof input === 'object' && !Array.isArray(input))) {
          return undefined;
        }
        return invalidParams(
          `invalid type: ${exec.serdeValueName(input)}, expected struct ${struct}`,
        );
      },
      // serde's `from_value` messages name no path (`invalid type: …, expected a sequence`)
      invalidParams: (_method, error, raw) =>
        invalidParams(
          describeZodError(error, asSerdeValue(raw), { pathSuffix: false, flavor: 'exec-server' }),
        ),
      gate: (method, _params, _raw, connection) => {
        if (method === 'initialize') return undefined;
        const kind = methodKind(method);
        if (!connection.attachment) {
          return invalidRequest(`client must call initialize before using ${kind} methods`);
        }
        if (!connection.initialized) {
          return invalidRequest(`client must send initialized before using ${kind} methods`);
        }
        if (!connection.attachment.current) return invalidRequest(RESUMED_ELSEWHERE_MESSAGE);
        return undefined;
      },
      unexpected: (error, request) => {
        logger.error({ err: error, requestId: request.id }, 'exec request failed');
        return internalError(error instanceof Error ? error.message : String(error));
      },
    },
  );
}
