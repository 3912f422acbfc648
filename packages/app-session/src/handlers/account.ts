import { providerCapabilities, providerList } from '../providers.js';
import type { AreaHandlers, ServiceParts } from './context.js';

type AccountMethods =
  | 'account/read'
  | 'account/login/start'
  | 'account/logout'
  | 'account/rateLimits/read'
  | 'model/list'
  | 'modelProvider/list'
  | 'modelProvider/capabilities/read';

/** Who the client is signed in as, the rate limits, and the models and providers to pick from. */
export function accountHandlers({
  accounts,
  models,
  config,
}: ServiceParts): AreaHandlers<AccountMethods> {
  return {
    'account/read': () => accounts.read(),
    'account/login/start': (params, scope) =>
      accounts.login(params, (task) => scope.afterReply(task)),
    'account/logout': (_params, scope) => accounts.logout((task) => scope.afterReply(task)),
    'account/rateLimits/read': () => accounts.rateLimits(),
    'model/list': (params) => models.list(params),
    'modelProvider/list': () => providerList(config.loadForThread()),
    'modelProvider/capabilities/read': () => providerCapabilities(config.loadForThread()),
  };
}
