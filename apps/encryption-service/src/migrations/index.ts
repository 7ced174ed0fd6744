import { CreateKeyrings1764000000300 } from './1764000000300-CreateKeyrings';
import { KeyLifecycle1764000000400 } from './1764000000400-KeyLifecycle';

export const ENCRYPTION_MIGRATIONS = [CreateKeyrings1764000000300, KeyLifecycle1764000000400];
