import { CreateOidcStore1764000000500 } from './1764000000500-CreateOidcStore';
import { CreateTotpFactors1764000000600 } from './1764000000600-CreateTotpFactors';
import { CreateRecoveryCodes1764000000700 } from './1764000000700-CreateRecoveryCodes';
import { IndexOidcModelsByAccount1764000000800 } from './1764000000800-IndexOidcModelsByAccount';
import { CreateFederatedIdentities1764000000900 } from './1764000000900-CreateFederatedIdentities';
import { CreateAuthSessions1764000001100 } from './1764000001100-CreateAuthSessions';

export const AUTH_MIGRATIONS = [
  CreateOidcStore1764000000500,
  CreateTotpFactors1764000000600,
  CreateRecoveryCodes1764000000700,
  IndexOidcModelsByAccount1764000000800,
  CreateFederatedIdentities1764000000900,
  CreateAuthSessions1764000001100,
];
