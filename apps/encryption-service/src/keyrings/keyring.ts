/** A keyring's public view: never carries key material, wrapped or not. */
export interface KeyringView {
  tenantId: string;
  keyringId: string;
  activeVersion: number;
}

export const SYSTEM_ACTOR = { type: 'api-client', id: 'anonymous' } as const;
