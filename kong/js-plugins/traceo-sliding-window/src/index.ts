// The module kong-js-pluginserver loads from its --plugins-directory (this folder's index.js once
// built): `Plugin` (the class; its methods name the phases), `Schema` (the config fields), `Version`,
// `Priority` and `Name`. Nothing here connects or prints at load time: Kong also loads the module
// with `--dump-all-plugins`, whose stdout must be the plugin info JSON alone.
import { KONG_CONFIG_FIELDS } from './kong-schema';

export { Plugin } from './sliding-window.plugin';
// Not read by the plugin server: the specs close the Redis connections with it.
export { closeGatewayLimiters } from './gateway-limiter';

/** The plugin server names a folder plugin after its entry file (index) unless the module says otherwise. */
export const Name = 'traceo-sliding-window';
export const Version = '0.1.0';
/** After authentication (jwt 1450, key-auth 1250) so the consumer is known; Kong's own rate-limiting plugins run at 910. */
export const Priority = 910;
export const Schema = KONG_CONFIG_FIELDS;
