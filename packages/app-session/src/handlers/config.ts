import { permissionProfiles } from '../settings.js';
import type { AreaHandlers, ServiceParts } from './context.js';

type ConfigMethods =
  | 'account/bedrock/checkGovCloudRequirements'
  | 'config/read'
  | 'config/value/write'
  | 'config/batchWrite'
  | 'experimentalFeature/list'
  | 'experimentalFeature/enablement/set'
  | 'configRequirements/read'
  | 'collaborationMode/list'
  | 'permissionProfile/list'
  | 'hooks/list'
  | 'skills/list'
  | 'plugin/installed';

/** What clients read about the configuration and the permissions. */
export function configHandlers({ support, config }: ServiceParts): AreaHandlers<ConfigMethods> {
  return {
    'account/bedrock/checkGovCloudRequirements': () => support.govCloud(),
    'config/read': (params) => config.read(params),
    'config/value/write': (params) => config.write([params], params),
    // loaded threads keep their settings; every new thread reads the file again, so
    // `reloadUserConfig` has nothing more to do
    'config/batchWrite': (params) => config.write(params.edits, params),
    'experimentalFeature/list': (params) => config.features(params),
    'experimentalFeature/enablement/set': (params) => config.setFeatureEnablement(params),
    'configRequirements/read': () => config.requirements(),
    'collaborationMode/list': () => support.collaborationModes(),
    'permissionProfile/list': (params) => permissionProfiles(params),
    'hooks/list': (params) => support.hooks(params),
    'skills/list': (params) => support.skills(params),
    'plugin/installed': () => support.plugins(),
  };
}
