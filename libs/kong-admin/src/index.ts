export { KongAdminClient, type KongAdminClientOptions } from './kong-admin.client';
export { KongAdminError, type KongAdminErrorCode } from './kong-admin.errors';
export type {
  BlockIpRequest,
  ConsumerPage,
  CreateConsumerRequest,
  IpRestrictionPlugin,
  KongConsumer,
  ListConsumersQuery,
  UnblockIpRequest,
} from './kong-admin.types';
