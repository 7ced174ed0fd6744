/** The oidc-provider instance (Nest injection token). */
export const OIDC_PROVIDER = Symbol('OIDC_PROVIDER');
/** The mount path of the provider: the issuer's path. */
export const OIDC_MOUNT_PATH = '/oidc';
