import { permissionProfiles } from '../settings.js';
import type { AreaHandlers, ServiceParts } from './context.js';

type ConfigMethods =
  | 'account/read'
  | 'account/bedrock/checkGovCloudRequirements'
  | 'model/list'
  | 'config/read'
  | 'configRequirements/read'
  | 'collaborationMode/list'
  | 'permissionProfile/list'
  | 'hooks/list'
  | 'skills/list'
  | 'plugin/installed';

/** What clients read about the account, the models, the configuration and the permissions. */
export function configHandlers({ support, threads }: ServiceParts): AreaHandlers<ConfigMethods> {
  return {
    'account/read': () => support.account(),
    'account/bedrock/checkGovCloudRequirements': () => support.govCloud(),
    'model/list': (params) => support.models(params),
    'config/read': () => support.config(threads.defaultSettings()),
    'configRequirements/read': () => support.configRequirements(),
    'collaborationMode/list': () => support.collaborationModes(),
    'permissionProfile/list': (params) => permissionProfiles(params),
    'hooks/list': (params) => support.hooks(params),
    'skills/list': (params) => support.skills(params),
    'plugin/installed': () => support.plugins(),
  };
}
