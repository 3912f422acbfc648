import type { AreaHandlers, ServiceParts } from './context.js';

type HistoryMethods =
  | 'thread/list'
  | 'thread/read'
  | 'thread/turns/list'
  | 'thread/items/list'
  | 'thread/items/read'
  | 'thread/readState/update'
  | 'thread/search'
  | 'thread/searchOccurrences';

/** Reading what threads hold: lists, pages of turns and items, search, read state. */
export function historyHandlers({ history }: ServiceParts): AreaHandlers<HistoryMethods> {
  return {
    'thread/list': (params) => history.list(params),
    'thread/read': (params, scope) => history.read(scope.connection.connection.id, params),
    'thread/turns/list': (params) => history.turnsList(params),
    'thread/items/list': (params) => history.itemsList(params),
    'thread/items/read': (params) => history.itemsRead(params),
    'thread/readState/update': (params) => history.readStateUpdate(params),
    'thread/search': (params) => history.search(params),
    'thread/searchOccurrences': (params) => history.searchOccurrences(params),
  };
}
