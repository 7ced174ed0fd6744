import { CreateOidcStore1764000000500 } from './1764000000500-CreateOidcStore';

export const AUTH_MIGRATIONS = [CreateOidcStore1764000000500];
