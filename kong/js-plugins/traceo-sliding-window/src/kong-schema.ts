import { MAX_WINDOW_SECONDS } from '@traceo/rate-limit';
import { ALGORITHMS, FAILURE_MODES, IDENTIFIERS, MAX_LIMIT, MAX_LIMITS } from './plugin-config';

/**
 * One field in Kong's schema DSL (kong/db/schema). Only attributes every Kong 3.x metaschema accepts:
 * an unknown attribute would make Kong refuse the plugin at start.
 */
export interface KongFieldSpec {
  readonly type: 'string' | 'integer' | 'boolean' | 'array' | 'record';
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  readonly one_of?: readonly string[];
  readonly between?: readonly [number, number];
  readonly len_min?: number;
  readonly len_max?: number;
  /** A Lua pattern, not a regular expression. */
  readonly match?: string;
  readonly elements?: KongFieldSpec;
  readonly fields?: readonly KongField[];
}

export type KongField = Readonly<Record<string, KongFieldSpec>>;

/**
 * The `config` fields kong-js-pluginserver reports to Kong (`Schema` export; the server wraps them in
 * `{ name, fields: [{ config: { type: 'record', fields } }] }`). Kong validates plugin entities with
 * them and fills the defaults. They mirror kong/plugins/traceo-sliding-window.schema.json field by
 * field (kong-schema.spec.ts compares the two) except where Kong's DSL has no equivalent: equal
 * lengths of limits and window_sizes, no repeated window, header_name present exactly with identifier
 * header, the sliding-log cap, database 0 on a cluster, and header_name's character set (a Lua pattern cannot say it without
 * escaping that no offline test here can run). The plugin checks those when an instance starts.
 */
export const KONG_CONFIG_FIELDS: readonly KongField[] = [
  {
    limits: {
      type: 'array',
      required: true,
      len_min: 1,
      len_max: MAX_LIMITS,
      elements: { type: 'integer', between: [1, MAX_LIMIT] },
    },
  },
  {
    window_sizes: {
      type: 'array',
      required: true,
      len_min: 1,
      len_max: MAX_LIMITS,
      elements: { type: 'integer', between: [1, MAX_WINDOW_SECONDS] },
    },
  },
  { algorithm: { type: 'string', required: true, default: 'sliding-window-counter', one_of: ALGORITHMS } },
  { identifier: { type: 'string', required: true, one_of: IDENTIFIERS } },
  { header_name: { type: 'string', len_min: 1, len_max: 128 } },
  { failure_mode: { type: 'string', required: true, one_of: FAILURE_MODES } },
  {
    redis: {
      type: 'record',
      required: true,
      fields: [
        { host: { type: 'string', required: true, len_min: 1, len_max: 253 } },
        { port: { type: 'integer', required: true, between: [1, 65535] } },
        { database: { type: 'integer', default: 0, between: [0, 15] } },
        { username: { type: 'string', len_min: 1 } },
        { password_env: { type: 'string', match: '^[A-Z_][A-Z0-9_]*$' } },
        { ssl: { type: 'boolean', default: false } },
        { ssl_verify: { type: 'boolean', default: true } },
        { server_name: { type: 'string', len_min: 1 } },
        { timeout_ms: { type: 'integer', default: 50, between: [1, 10_000] } },
        { cluster: { type: 'boolean', default: false } },
        { key_prefix: { type: 'string', default: 'traceo:rl:', len_min: 0, len_max: 64 } },
      ],
    },
  },
];
