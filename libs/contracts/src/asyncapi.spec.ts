import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildAsyncApiDocument, EVENT_SCHEMAS, TOPICS } from './index';

const documentPath = join(__dirname, '..', 'asyncapi.yaml');

describe('AsyncAPI document', () => {
  const committed = parse(readFileSync(documentPath, 'utf8')) as {
    asyncapi: string;
    channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
    operations: Record<string, { action: string; channel: { $ref: string } }>;
    components: { messages: Record<string, { name: string; payload: unknown }> };
  };

  it('is an AsyncAPI 3 document', () => {
    expect(committed.asyncapi).toMatch(/^3\.\d+\.\d+$/);
  });

  it('has exactly one channel per registered topic, named traceo.<domain>.<event>.v<N>', () => {
    const addresses = Object.values(committed.channels)
      .map((channel) => channel.address)
      .sort();
    expect(addresses).toEqual(TOPICS.map((topic) => topic.name).sort());
    for (const address of addresses) expect(address).toMatch(/^traceo\.[a-z-]+\.[a-z-]+\.v\d+$/);
  });

  it('declares a message for every registered event type, and every reference resolves', () => {
    expect(
      Object.values(committed.components.messages)
        .map((message) => message.name)
        .sort(),
    ).toEqual(Object.keys(EVENT_SCHEMAS).sort());
    for (const [id, channel] of Object.entries(committed.channels)) {
      for (const message of Object.values(channel.messages)) {
        expect(committed.components.messages[message.$ref.replace('#/components/messages/', '')]).toBeDefined();
      }
      expect(Object.values(committed.operations).some((operation) => operation.channel.$ref === `#/channels/${id}`)).toBe(true);
    }
  });

  it('matches the schemas in the registry (regenerate with node tools/gen-asyncapi.mjs)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildAsyncApiDocument())));
  });
});
