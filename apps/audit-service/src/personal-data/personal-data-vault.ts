/** One record's personal data to seal: JSON text, bound to the record's event id. */
export interface SealRequest {
  readonly eventId: string;
  readonly subjectId: string;
  readonly plaintext: string;
}

export type SealResult = { readonly ciphertext: string } | { readonly withheld: 'subject-erased' | 'too-large' };

export type OpenResult = { readonly plaintext: string } | { readonly state: 'erased' | 'unavailable' };

/**
 * Where personal data is sealed under data-subject keys. Sealing failures throw (the consumer retries
 * the batch; nothing is dropped); opening never throws for one record: it answers `erased` for a
 * shredded subject and `unavailable` when the key service cannot answer.
 */
export interface PersonalDataVault {
  readonly keyring: string;
  seal(tenant: string, requests: readonly SealRequest[]): Promise<SealResult[]>;
  open(tenant: string, sealed: readonly { eventId: string; ciphertext: string }[]): Promise<OpenResult[]>;
}

export const PERSONAL_DATA_VAULT = Symbol('PERSONAL_DATA_VAULT');
