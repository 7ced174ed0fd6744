import { tokenRequest } from './flows';

/** An answer of the service's JSON API, the body as sent (problem+json on errors). */
export interface ApiAnswer {
  readonly status: number;
  readonly type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests explore JSON response bodies loosely
  readonly body: Record<string, any>;
}

/** A JSON call to the service's HTTP API with a bearer token. */
export async function apiCall(origin: string, method: string, path: string, accessToken: string, body?: unknown): Promise<ApiAnswer> {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: { authorization: `Bearer ${accessToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: (await response.json()) as ApiAnswer['body'],
  };
}

/** A machine access token from the client_credentials grant (the client's default resource). */
export async function clientCredentialsToken(tokenEndpoint: string, client: { id: string; secret: string }): Promise<string> {
  const answer = await tokenRequest(tokenEndpoint, client, { grant_type: 'client_credentials' });
  expect(answer.status).toBe(200);
  return String(answer.body['access_token']);
}
