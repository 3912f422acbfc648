import type { AreaHandlers, ServiceParts } from './context.js';

type EditMethods =
  | 'thread/name/set'
  | 'thread/metadata/update'
  | 'thread/settings/update'
  | 'thread/goal/get'
  | 'thread/goal/set'
  | 'thread/goal/clear'
  | 'thread/queue/add'
  | 'thread/queue/list'
  | 'thread/queue/update'
  | 'thread/queue/delete'
  | 'thread/queue/reorder'
  | 'thread/queue/start';

/** What a client changes about a thread: its name, metadata, settings, goal and queue. */
export function editHandlers({ edits }: ServiceParts): AreaHandlers<EditMethods> {
  return {
    'thread/name/set': (params, scope) => edits.setName(params, scope),
    'thread/metadata/update': (params) => edits.metadataUpdate(params),
    'thread/settings/update': (params, scope) => edits.settingsUpdate(params, scope),
    'thread/goal/get': (params) => edits.goalGet(params),
    'thread/goal/set': (params, scope) => edits.goalSet(params, scope),
    'thread/goal/clear': (params, scope) => edits.goalClear(params, scope),
    'thread/queue/add': (params) => edits.queueAdd(params),
    'thread/queue/list': (params) => edits.queueList(params),
    'thread/queue/update': (params, scope) => edits.queueUpdate(params, scope),
    'thread/queue/delete': (params, scope) => edits.queueDelete(params, scope),
    'thread/queue/reorder': (params, scope) => edits.queueReorder(params, scope),
    'thread/queue/start': (params, scope) => edits.queueStart(params, scope),
  };
}
