// The gateway validator's own tests: the committed files pass, and broken copies of them fail for
// the right reason in the right layer (decK, Kong 3.x rules, plugin schemas: the custom plugin's and
// the bundled plugins' Kong 3.9 schemas in kong/plugins/bundled/).
//   node --test tools/kong/
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKongFile } from './kong-config.mjs';
import { DEFAULT_TARGETS, validate } from './validate.mjs';

const { stringify } = createRequire(import.meta.url)('yaml');
const dir = mkdtempSync(join(tmpdir(), 'traceo-kong-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const [oss, enterprise] = DEFAULT_TARGETS;
let n = 0;
/** Validates a copy of a committed file after `edit` changed it; returns the report's text. */
function validateEdited(target, edit) {
  const doc = structuredClone(loadKongFile(target.file));
  edit(doc);
  const file = join(dir, `case-${++n}.yml`);
  writeFileSync(file, stringify(doc, { aliasDuplicateObjects: false }));
  const [report] = validate([{ file, edition: target.edition }]);
  return { ok: report.ok, text: report.lines.join('\n') };
}
const route = (doc, name) => doc.services.flatMap((s) => s.routes).find((r) => r.name === name);
const customPlugin = (doc, consumer) =>
  doc.consumers.find((c) => c.username === consumer).plugins.find((p) => p.name === 'traceo-sliding-window');
const routePlugin = (doc, routeName, name) => route(doc, routeName).plugins.find((p) => p.name === name);
const globalPlugin = (doc, name) => doc.plugins.find((p) => p.name === name);

describe('kong/ declarative configuration', () => {
  it('accepts the committed kong.yml and kong-enterprise.yml', () => {
    const reports = validate();
    for (const report of reports) {
      console.log(`${report.file}\n  ${report.lines.join('\n  ')}`);
      assert.equal(report.ok, true, report.lines.join('\n'));
    }
  });

  it('rejects a route with an invalid protocol', () => {
    const result = validateEdited(oss, (doc) => {
      route(doc, 'audit-api').protocols = ['htps'];
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /routes\[audit-api\]: invalid protocol "htps"/);
  });

  it('rejects a route with a field Kong does not have (decK)', () => {
    const result = validateEdited(oss, (doc) => {
      route(doc, 'risk-api').strip_paths = true;
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /deck validate: FAILED[\s\S]*Additional property strip_paths is not allowed/);
  });

  it('rejects a JWT credential without its key (decK)', () => {
    const result = validateEdited(oss, (doc) => {
      delete doc.consumers[0].jwt_secrets[0].key;
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /deck validate: FAILED[\s\S]*key is required/);
  });

  it('rejects a sliding-window config whose limits and window_sizes differ in length', () => {
    const result = validateEdited(oss, (doc) => {
      customPlugin(doc, 'example-premium-client').config.window_sizes = [60, 3600];
    });
    assert.equal(result.ok, false);
    assert.match(
      result.text,
      /consumers\[example-premium-client\]\.plugins\[traceo-sliding-window\]: config\/ limits and window_sizes must have the same length/,
    );
  });

  it('rejects identifier "header" without header_name, and an unknown algorithm', () => {
    const result = validateEdited(oss, (doc) => {
      Object.assign(customPlugin(doc, 'example-free-client').config, { identifier: 'header', algorithm: 'token-bucket' });
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /config\/algorithm should be equal to one of the allowed values/);
    assert.match(result.text, /config\/? should have required property 'header_name'/);
  });

  it('rejects Redis settings without a port and with a literal password', () => {
    const result = validateEdited(oss, (doc) => {
      const config = customPlugin(doc, 'example-standard-client').config;
      config.redis = { host: 'redis', password: 'hunter2' };
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /config\/redis should have required property 'port'/);
    assert.match(result.text, /config\/redis should NOT have additional properties/);
  });

  it('rejects a request-size limit that differs from the service’s body limit', () => {
    const result = validateEdited(oss, (doc) => {
      doc.services.find((s) => s.name === 'encryption-service').plugins[0].config.size_unit = 'kilobytes';
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /services\[encryption-service\]: request-size-limiting allows 8192 bytes but the service accepts 8388608/);
  });

  it('rejects a non-public route without the jwt plugin', () => {
    const result = validateEdited(oss, (doc) => {
      const r = route(doc, 'compliance-api');
      r.plugins = r.plugins.filter((p) => p.name !== 'jwt');
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /routes\[compliance-api\]: needs the jwt plugin/);
  });

  it('rejects consumer groups in the open-source file and unknown groups in the Enterprise file', () => {
    const inOss = validateEdited(oss, (doc) => {
      doc.consumer_groups = [{ name: 'free' }];
    });
    assert.equal(inOss.ok, false);
    assert.match(inOss.text, /consumer_groups: Kong open source has no consumer groups/);
    const unknownGroup = validateEdited(enterprise, (doc) => {
      doc.consumers[0].groups = [{ name: 'platinum' }];
    });
    assert.equal(unknownGroup.ok, false);
    assert.match(unknownGroup.text, /is in consumer group platinum, which is not defined/);
  });

  it('rejects a jwt plugin that would refuse auth-service tokens (nbf) or let expired ones through', () => {
    const jwt = (doc) => route(doc, 'compliance-api').plugins.find((p) => p.name === 'jwt');
    const withNbf = validateEdited(oss, (doc) => {
      jwt(doc).config.claims_to_verify = ['exp', 'nbf'];
    });
    assert.equal(withNbf.ok, false);
    assert.match(withNbf.text, /plugins\[jwt\]: jwt claims_to_verify lists nbf, which auth-service access tokens do not carry/);
    const withoutExp = validateEdited(enterprise, (doc) => {
      jwt(doc).config.claims_to_verify = [];
    });
    assert.equal(withoutExp.ok, false);
    assert.match(withoutExp.text, /jwt claims_to_verify must include exp/);
    const wrongKey = validateEdited(oss, (doc) => {
      jwt(doc).config.key_claim_name = 'iss';
    });
    assert.match(wrongKey.text, /jwt key_claim_name must be client_id/);
  });

  it('rejects a jwt config with a field Kong 3.9 does not have, or a claim it cannot verify', () => {
    const unknownField = validateEdited(oss, (doc) => {
      routePlugin(doc, 'audit-api', 'jwt').config.key_claim = 'client_id';
    });
    assert.equal(unknownField.ok, false);
    assert.match(unknownField.text, /routes\[audit-api\]\.plugins\[jwt\]: config\/ should NOT have additional properties \(key_claim\)/);
    const iat = validateEdited(oss, (doc) => {
      routePlugin(doc, 'audit-api', 'jwt').config.claims_to_verify = ['iat'];
    });
    assert.equal(iat.ok, false);
    assert.match(iat.text, /plugins\[jwt\]: config\/claims_to_verify\/0 should be equal to one of the allowed values \(exp, nbf\)/);
    assert.match(iat.text, /plugins\[jwt\]: config\/ maximum_expiration above 0 requires claims_to_verify to contain exp/);
  });

  it('rejects bot-detection’s pre-3.0 whitelist field', () => {
    const result = validateEdited(oss, (doc) => {
      globalPlugin(doc, 'bot-detection').config = { whitelist: [] };
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /plugins\[bot-detection\]: config\/ should NOT have additional properties \(whitelist\)/);
  });

  it('rejects an http-log queue batch of 0 entries and a GET method', () => {
    const result = validateEdited(oss, (doc) => {
      const config = globalPlugin(doc, 'http-log').config;
      config.queue.max_batch_size = 0;
      config.method = 'GET';
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /plugins\[http-log\]: config\/queue\/max_batch_size should be >= 1/);
    assert.match(result.text, /plugins\[http-log\]: config\/method should be equal to one of the allowed values \(POST, PUT, PATCH\)/);
  });

  it('rejects a request-size unit Kong does not have', () => {
    const result = validateEdited(oss, (doc) => {
      doc.services.find((s) => s.name === 'encryption-service').plugins[0].config.size_unit = 'gigabytes';
    });
    assert.equal(result.ok, false);
    assert.match(
      result.text,
      /services\[encryption-service\]\.plugins\[request-size-limiting\]: config\/size_unit should be equal to one of the allowed values \(megabytes, kilobytes, bytes\)/,
    );
  });

  it('rejects a correlation-id generator Kong does not have', () => {
    const result = validateEdited(oss, (doc) => {
      globalPlugin(doc, 'correlation-id').config.generator = 'random';
    });
    assert.equal(result.ok, false);
    assert.match(
      result.text,
      /plugins\[correlation-id\]: config\/generator should be equal to one of the allowed values \(uuid, uuid#counter, tracker\)/,
    );
  });

  it('rejects a prometheus field Kong 3.9 does not have (wasm_metrics arrived in 3.10)', () => {
    const result = validateEdited(oss, (doc) => {
      globalPlugin(doc, 'prometheus').config.wasm_metrics = true;
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /plugins\[prometheus\]: config\/ should NOT have additional properties \(wasm_metrics\)/);
  });

  it('rejects a rate-limiting-advanced window type, field or window count Kong does not accept', () => {
    const result = validateEdited(enterprise, (doc) => {
      const config = routePlugin(doc, 'risk-api', 'rate-limiting-advanced').config;
      Object.assign(config, { window_type: 'fixed-ish', window_sizes: [60] });
    });
    assert.equal(result.ok, false);
    assert.match(
      result.text,
      /plugins\[rate-limiting-advanced\]: config\/window_type should be equal to one of the allowed values \(fixed, sliding\)/,
    );
    assert.match(result.text, /plugins\[rate-limiting-advanced\]: config\/ should NOT have additional properties \(window_sizes\)/);
    const unequal = validateEdited(enterprise, (doc) => {
      doc.consumer_groups.find((g) => g.name === 'premium').plugins[0].config.limit = [50, 3000];
    });
    assert.equal(unequal.ok, false);
    assert.match(
      unequal.text,
      /consumer_groups\[premium\]\.plugins\[rate-limiting-advanced\]: config\/ limit and window_size must have the same length/,
    );
  });

  it('rejects a bundled plugin that has no config schema in kong/plugins/bundled/', () => {
    const result = validateEdited(oss, (doc) => {
      doc.plugins.push({ name: 'cors', config: { origins: ['https://traceo.example'] } });
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /plugins\[cors\]: no config schema for this plugin \(add kong\/plugins\/bundled\/cors\.schema\.json/);
  });

  it('rejects a file without one of the services, global plugins or tiers', () => {
    const result = validateEdited(oss, (doc) => {
      doc.services = doc.services.filter((s) => s.name !== 'risk-service');
      doc.plugins = doc.plugins.filter((p) => p.name !== 'http-log');
      doc.consumers = doc.consumers.filter((c) => !(c.tags ?? []).includes('tier:premium'));
    });
    assert.equal(result.ok, false);
    assert.match(result.text, /services: no risk-service/);
    assert.match(result.text, /plugins: no global http-log/);
    assert.match(result.text, /consumers: no consumer of tier premium/);
    const noGroup = validateEdited(enterprise, (doc) => {
      doc.consumer_groups = doc.consumer_groups.filter((g) => g.name !== 'free');
      for (const consumer of doc.consumers) consumer.groups = (consumer.groups ?? []).filter((g) => g.name !== 'free');
    });
    assert.match(noGroup.text, /consumer_groups: no consumer group free/);
  });
});
