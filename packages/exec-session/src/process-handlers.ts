import { attached, type ExecHandlers } from './exec-context.js';
import { uriToPath } from './fs-methods.js';

/** What a `process/read` response costs on the wire besides its chunks (for the window). */
const READ_RESPONSE_OVERHEAD_BYTES = 200;
const READ_CHUNK_OVERHEAD_BYTES = 48;

/**
 * The process methods. Calls naming the same process run in arrival order (the table's
 * `process:<id>` key), so a write never overtakes the start it follows.
 */
export const processHandlers: ExecHandlers<
  'process/start' | 'process/read' | 'process/write' | 'process/signal' | 'process/terminate'
> = {
  'process/start': async (params, scope) => {
    const attachment = attached(scope.connection);
    const session = attachment.session;
    await session.startProcess(attachment, params, uriToPath(params.cwd));
    // notifications may follow the start response, never precede it
    scope.afterReply(() => session.announce(params.processId));
    // the reference names its Linux sandbox `linuxSeccomp` whenever a context is given
    return { processId: params.processId, sandboxType: params.sandbox ? 'linuxSeccomp' : 'none' };
  },
  'process/read': async (params, scope) => {
    const attachment = attached(scope.connection);
    const session = attachment.session;
    // the read's snapshot (acknowledgement included) is taken in order; a long poll does not
    // hold back later calls naming the process
    const reading = session.read(attachment, params);
    scope.releaseOrder();
    const result = await reading;
    let bytes = READ_RESPONSE_OVERHEAD_BYTES;
    for (const chunk of result.chunks) bytes += chunk.chunk.length + READ_CHUNK_OVERHEAD_BYTES;
    scope.onWritten((error) => {
      if (!error) session.readDelivered(attachment, params.processId, result.nextSeq, bytes);
    });
    return result;
  },
  'process/write': (params, { connection }) => ({
    status: attached(connection).session.write(params),
  }),
  'process/signal': (params, { connection }) => {
    attached(connection).session.signal(params);
    return {};
  },
  'process/terminate': (params, { connection }) => ({
    running: attached(connection).session.terminate(params.processId),
  }),
};
