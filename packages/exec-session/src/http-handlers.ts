import type { ExecHandlers } from './exec-context.js';

/** `http/request`, run by the connection's `HttpRequests`; the result precedes any body delta. */
export const httpHandlers: ExecHandlers<'http/request'> = {
  'http/request': async (params, scope) => {
    const { result, stream, written } = await scope.connection.http.run(params);
    // a buffered body's share of the budget is freed once its result is on the socket
    scope.onWritten(() => written());
    // a streamed body's deltas follow the result, never precede it
    if (stream) scope.afterReply(stream);
    return result;
  },
};
