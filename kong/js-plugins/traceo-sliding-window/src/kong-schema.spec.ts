import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KONG_CONFIG_FIELDS, type KongField, type KongFieldSpec } from './kong-schema';

interface JsonSchema {
  type?: string;
  enum?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

const schemaFile = join(__dirname, '..', '..', '..', 'plugins', 'traceo-sliding-window.schema.json');
const root = JSON.parse(readFileSync(schemaFile, 'utf8')) as JsonSchema;
const deref = (schema: JsonSchema): JsonSchema => (schema.$ref ? root.$defs![schema.$ref.split('/').pop()!]! : schema);

/** Checks Kong cannot express with its DSL; the plugin applies them when an instance starts (plugin-config.ts). */
const CHECKED_AT_INSTANCE_START = new Set(['header_name.pattern']);

/** How Kong's DSL would have to say what the JSON Schema says about one value. */
function expectedKongSpec(name: string, schema: JsonSchema, required: boolean): KongFieldSpec {
  const spec: Record<string, unknown> = {};
  if (schema.enum) spec.type = 'string';
  else if (schema.type === 'object') spec.type = 'record';
  else spec.type = schema.type;
  // Kong always has a value for a field with a default, so it may mark it required; the JSON Schema does not.
  if (required) spec.required = true;
  if (schema.default !== undefined) spec.default = schema.default;
  if (schema.enum) spec.one_of = schema.enum;
  if (schema.minimum !== undefined || schema.maximum !== undefined) spec.between = [schema.minimum, schema.maximum];
  if (schema.type === 'array') {
    spec.len_min = schema.minItems;
    spec.len_max = schema.maxItems;
    spec.elements = expectedKongSpec(`${name}[]`, schema.items!, false);
  }
  if (schema.type === 'string' && !schema.enum) {
    // A pattern with `+` needs one character at least.
    spec.len_min = schema.minLength ?? (schema.pattern ? 1 : 0);
    if (schema.maxLength !== undefined) spec.len_max = schema.maxLength;
    if (schema.pattern !== undefined && !CHECKED_AT_INSTANCE_START.has(`${name}.pattern`)) spec.match = schema.pattern;
  }
  if (schema.type === 'object') spec.fields = expectedKongFields(schema);
  return spec as unknown as KongFieldSpec;
}

function expectedKongFields(schema: JsonSchema): KongField[] {
  return Object.entries(schema.properties!).map(([name, property]) => {
    const value = deref(property);
    const required = schema.required?.includes(name) ?? false;
    return { [name]: expectedKongSpec(name, value, required) };
  });
}

/**
 * What a Kong field means rather than how it is written: `required: true` on a field with a default
 * changes nothing for the config an instance receives, and a string without `len_min` has Kong's
 * default of 1 (Kong refuses empty strings unless told otherwise).
 */
function meaning(fields: readonly KongField[]): KongField[] {
  return fields.map((field) => {
    const [name, spec] = Object.entries(field)[0]!;
    const { required, ...rest } = spec;
    const normalized: Record<string, unknown> = { ...(required && spec.default === undefined ? { required } : {}), ...rest };
    if (spec.type === 'string' && spec.one_of === undefined) normalized.len_min = spec.len_min ?? 1;
    if (spec.fields) normalized.fields = meaning(spec.fields);
    return { [name]: normalized as unknown as KongFieldSpec };
  });
}

describe('the Kong schema the plugin server reports', () => {
  it('says, field by field, what kong/plugins/traceo-sliding-window.schema.json says', () => {
    expect(meaning(KONG_CONFIG_FIELDS)).toEqual(meaning(expectedKongFields(root)));
  });

  it('uses only Lua patterns that are also the same regular expression', () => {
    const matches = JSON.stringify(KONG_CONFIG_FIELDS).match(/"match":"([^"]*)"/g) ?? [];
    expect(matches).toEqual(['"match":"^[A-Z_][A-Z0-9_]*$"']);
  });
});
