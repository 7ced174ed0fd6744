import type { IncomingMessage } from 'node:http';
import { jsonBodyParserOptions } from './json-body';

const request = (url: string, contentType?: string) =>
  ({ url, headers: contentType === undefined ? {} : { 'content-type': contentType } }) as unknown as IncomingMessage;

describe('jsonBodyParserOptions', () => {
  const { limit, type } = jsonBodyParserOptions('256kb', ['/oidc']);

  it('parses application/json (with parameters, any case) outside the own-body paths', () => {
    expect(limit).toBe('256kb');
    expect(type(request('/v1/auth/tenants/acme/clients', 'application/json'))).toBe(true);
    expect(type(request('/v1/x', 'Application/JSON; charset=utf-8'))).toBe(true);
    expect(type(request('/oidcx/token', 'application/json'))).toBe(true); // another path that only starts alike
  });

  it('leaves other media types alone, as body-parser does by default', () => {
    expect(type(request('/v1/x', 'application/x-www-form-urlencoded'))).toBe(false);
    expect(type(request('/v1/x', 'application/merge-patch+json'))).toBe(false);
    expect(type(request('/v1/x'))).toBe(false);
  });

  it('leaves bodies under an own-body path to their handler', () => {
    expect(type(request('/oidc', 'application/json'))).toBe(false);
    expect(type(request('/oidc/token', 'application/json'))).toBe(false);
    expect(type(request('/oidc?x=1', 'application/json'))).toBe(false);
  });

  it('parses everywhere without own-body paths, and refuses a prefix that is not a path', () => {
    expect(jsonBodyParserOptions('1mb').type(request('/oidc/token', 'application/json'))).toBe(true);
    expect(() => jsonBodyParserOptions('1mb', ['oidc'])).toThrow(/not a path prefix/);
    expect(() => jsonBodyParserOptions('1mb', ['/oidc/'])).toThrow(/not a path prefix/);
  });
});
