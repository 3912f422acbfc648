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
export function threadHandlers({ threads }: ServiceParts): AreaHandlers<ThreadMethods> {
  return {
    'thread/start': (params, scope) => threads.start(scope.connection.connection.id, params, scope),
    'thread/resume': (params, scope) =>
      threads.resume(scope.connection.connection.id, params, scope),
    'thread/fork': (params, scope) => threads.fork(scope.connection.connection.id, params, scope),
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
