import {
  createRateLimitCluster,
  createRateLimitRedis,
  RedisStore,
  type RateLimitStore,
  type StoreRequest,
  type StoreVerdict,
} from '@traceo/rate-limit';
import type { Cluster, Redis } from 'ioredis';
import { redisPasswordFromEnv, type RedisConfig } from './plugin-config';

/** Longer than createRateLimitRedis's 1 s connect timeout: by then the first connection has succeeded or failed. */
const FIRST_CONNECTION_WAIT_MS = 1500;

interface Connection {
  readonly client: Redis | Cluster;
  /** Pending until the client first connected, failed to, or the wait ran out; then undefined for good. */
  firstConnection: Promise<void> | undefined;
}

/** One connection per distinct Redis settings (not per plugin instance), kept for the life of the plugin server. */
const connections = new Map<string, Connection>();

/**
 * A store on the Redis `redis` describes, with keys under `prefix`. The connection is shared with
 * every other configuration on the same server. Its client fails commands at once while disconnected
 * (createRateLimitRedis: no offline queue), which is right during an outage but would make the first
 * requests after an instance starts fall back (fail-open) or be refused (fail-closed) merely because
 * the connection is still being made; so decisions wait for the first connection, once, up to 1.5 s.
 */
export function redisStoreFor(redis: RedisConfig, prefix: string): RateLimitStore {
  const connection = connectionFor(redis);
  const store = new RedisStore({ client: connection.client, prefix });
  return {
    kind: 'redis',
    async decide(request: StoreRequest): Promise<StoreVerdict> {
      if (connection.firstConnection !== undefined) await connection.firstConnection;
      return store.decide(request);
    },
    // On a Cluster: a master that is down pauses only its own hash slots (RateLimiter).
    ...(store.partitionOf !== undefined ? { partitionOf: store.partitionOf } : {}),
  };
}

function connectionFor(redis: RedisConfig): Connection {
  const { key_prefix: _prefix, ...settings } = redis;
  const key = JSON.stringify(settings);
  const cached = connections.get(key);
  if (cached !== undefined) return cached;
  const host = redis.host.includes(':') ? `[${redis.host}]` : redis.host;
  const nodeOptions = {
    ...(redis.username !== undefined ? { username: redis.username } : {}),
    ...(redis.password_env !== undefined ? { password: redisPasswordFromEnv(redis) } : {}),
    ...(redis.ssl ? { tls: { rejectUnauthorized: redis.ssl_verify, servername: redis.server_name ?? redis.host } } : {}),
    commandTimeout: redis.timeout_ms,
    // CLIENT LIST shows which plugin server process holds which connection.
    connectionName: `traceo-sliding-window-${process.pid}`,
    // Only closeRedisConnections disconnects; a socket that already failed must not hold the process 2 s.
    disconnectTimeout: 100,
  };
  const client: Redis | Cluster = redis.cluster
    ? createRateLimitCluster([{ host: redis.host, port: redis.port }], { redisOptions: nodeOptions })
    : createRateLimitRedis(`redis://${host}:${redis.port}/${redis.database}`, nodeOptions);
  const connection: Connection = { client, firstConnection: undefined };
  connection.firstConnection = firstConnection(client).then(() => {
    connection.firstConnection = undefined;
  });
  reportOutages(client, `${redis.host}:${redis.port}/${redis.database}`);
  connections.set(key, connection);
  return connection;
}

function firstConnection(client: Redis | Cluster): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done).off('error', done).off('end', done);
      resolve();
    };
    const timer = setTimeout(done, FIRST_CONNECTION_WAIT_MS);
    client.once('ready', done).once('error', done).once('end', done);
  });
}

/**
 * ioredis emits an error per failed reconnection: one line per outage goes to the plugin server's
 * stderr, which Kong copies into its error log. Decisions meanwhile follow each configuration's
 * failure_mode.
 */
function reportOutages(client: Redis | Cluster, where: string): void {
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    process.stderr.write(`traceo-sliding-window: Redis ${where} unreachable: ${error.message}\n`);
  });
  client.on('ready', () => {
    if (down) process.stderr.write(`traceo-sliding-window: Redis ${where} reachable again\n`);
    down = false;
  });
}

/** Closes every connection (tests; the plugin server never closes them). */
export function closeRedisConnections(): void {
  for (const { client } of connections.values()) client.disconnect();
  connections.clear();
}
