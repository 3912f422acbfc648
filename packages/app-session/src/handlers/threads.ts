import type { AreaHandlers, ServiceParts } from './context.js';

type ThreadMethods =
  | 'thread/start'
  | 'thread/resume'
  | 'thread/fork'
  | 'thread/loaded/list'
  | 'thread/unsubscribe'
  | 'thread/archive'
  | 'thread/unarchive'
  | 'thread/delete'
  | 'thread/revert'
  | 'thread/inject_items'
  | 'thread/compact/start';

/** Starting, resuming, forking, archiving and deleting threads; who watches which. */
export function threadHandlers({ threads, config }: ServiceParts): AreaHandlers<ThreadMethods> {
  return {
    // a configuration that does not load fails these with the reference's `<file>:<line>:<col>`
    'thread/start': (params, scope) => {
      config.loadForThread();
      return threads.start(scope.connection.connection.id, params, scope);
    },
    'thread/resume': (params, scope) => {
      config.loadForThread();
      return threads.resume(scope.connection.connection.id, params, scope);
    },
    'thread/fork': (params, scope) => {
      config.loadForThread();
      return threads.fork(scope.connection.connection.id, params, scope);
    },
    'thread/loaded/list': (params) => threads.loadedList(params),
    'thread/unsubscribe': (params, scope) =>
      threads.unsubscribe(scope.connection.connection.id, params),
    'thread/archive': (params, scope) => threads.archive(params, scope),
    'thread/unarchive': (params, scope) => threads.unarchive(params, scope),
    'thread/delete': (params, scope) => threads.delete(params, scope),
    'thread/revert': (params, scope) =>
      threads.revert(scope.connection.connection.id, params, scope),
    'thread/inject_items': (params) => threads.injectItems(params),
    'thread/compact/start': (params) => threads.compact(params),
  };
}
