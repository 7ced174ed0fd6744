export { loadInfraEnv, pkcs11Env, WORKSPACE_ROOT, type InfraEnv } from './infra-env';
export { consumerLag, startGroupAtEnd, waitFor } from './kafka-helpers';
export { createScratchSchema, withClient } from './scratch-schema';
export { startProcess, startTsProcess, type RunningProcess } from './child-process';
export { TestTokenIssuer, type JwksServer, type TestTokenAlgorithm, type TestTokenRequest } from './test-token-issuer';
export { freePort } from './free-port';
export { OwnRedisCluster } from './redis-cluster';
export { startSyslogCollector, type SyslogCollector, type SyslogCollectorOptions } from './syslog-collector';
