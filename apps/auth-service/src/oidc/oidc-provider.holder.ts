import type Provider from 'oidc-provider';
import { keyIdsOf, type ProviderKeys } from './provider-keys';

/**
 * The oidc-provider instance in use. oidc-provider reads its signing keys once, when it is built, so a
 * running auth-service that rotates or learns of another replica's key builds a new instance with the
 * new key set and swaps it in here (`useKeys`). Requests already inside the old instance finish there;
 * everything it keeps between requests (sessions, grants, codes, interactions) is in PostgreSQL, and the
 * cookie keys do not change, so nothing is lost at the swap. Users of the provider ask for `current`
 * on every use and never keep an instance; whoever attaches to its events does so through `onEach`.
 */
export class OidcProviderHolder {
  private provider: Provider;
  private keyIds: readonly string[];
  private handler: ReturnType<Provider['callback']>;
  private readonly attachers: ((provider: Provider) => void)[] = [];

  constructor(
    private readonly build: (keys: ProviderKeys) => Provider,
    keys: ProviderKeys,
  ) {
    this.provider = build(keys);
    this.keyIds = keyIdsOf(keys);
    this.handler = this.provider.callback();
  }

  get current(): Provider {
    return this.provider;
  }

  /** The current instance's request handler (as `provider.callback()`). */
  get callback(): ReturnType<Provider['callback']> {
    return this.handler;
  }

  /** The key ids in use, the signing key first. */
  get signingKeyIds(): readonly string[] {
    return this.keyIds;
  }

  /** Calls `attach` with the current instance now and with every instance swapped in later. */
  onEach(attach: (provider: Provider) => void): void {
    this.attachers.push(attach);
    attach(this.provider);
  }

  /** Builds and swaps in an instance with `keys` when they differ from the ones in use (ids or order); says whether it did. */
  useKeys(keys: ProviderKeys): boolean {
    const keyIds = keyIdsOf(keys);
    if (keyIds.join(' ') === this.keyIds.join(' ')) return false;
    const provider = this.build(keys);
    for (const attach of this.attachers) attach(provider);
    this.provider = provider;
    this.handler = provider.callback();
    this.keyIds = keyIds;
    return true;
  }
}
