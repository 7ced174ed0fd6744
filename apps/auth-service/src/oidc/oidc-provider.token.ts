/** The mount path of the provider: the issuer's path. */
export const OIDC_MOUNT_PATH = '/oidc';
