import { Inject, Injectable } from '@nestjs/common';
import { SERVICE_RUNTIME, type ServiceRuntime } from '@traceo/service-kit';
import { AccountNotFoundError } from '../sessions/session.errors';
import { AccountAdminRepository, type AccountView } from './account-admin.repository';

/** An account of the tenant as administrators see it: roles, state, whether it has a second factor. Never its password hash. */
@Injectable()
export class GetAccountUseCase {
  constructor(
    @Inject(SERVICE_RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly accounts: AccountAdminRepository,
  ) {}

  async execute(tenantId: string, accountId: string): Promise<AccountView> {
    const account = await this.accounts.find(this.runtime.dataSource, tenantId, accountId);
    if (!account) throw new AccountNotFoundError('no such account in this tenant');
    return account;
  }
}
