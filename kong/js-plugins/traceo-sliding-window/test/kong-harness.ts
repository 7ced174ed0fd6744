import { PluginTest, Request } from 'kong-pdk/plugin_test';
import * as plugin from '../src';

export interface PdkCall {
  readonly method: string;
  readonly args: readonly unknown[];
}

/** Who is calling: what Kong's authentication plugins would have put on the request. */
export interface Caller {
  readonly consumer?: { readonly id: string; readonly username?: string };
  readonly credential?: { readonly id: string; readonly consumer_id?: string };
  readonly headers?: Readonly<Record<string, string>>;
  readonly path?: string;
}

export interface AccessResult {
  /** 200 when the harness proxied to its mock upstream, else the status of `kong.response.exit`. */
  readonly status: number | undefined;
  readonly body: unknown;
  /** The response headers as the harness recorded them (kong.response.set_header lands here). */
  readonly headers: Headers;
  /** Every PDK call the plugin made, in order. */
  readonly calls: readonly PdkCall[];
  /** The arguments of `kong.response.exit`, when the plugin ended the request. */
  readonly exit?: { readonly status: number; readonly body: string; readonly headers: Readonly<Record<string, string>> };
}

/**
 * One request through the plugin's phases with kong-pdk's own harness (plugin_test.js: its mock of
 * Kong answers the PDK calls, e.g. kong.client.get_forwarded_ip is always 1.2.3.4). Two things the
 * harness cannot express are filled in here, by listening on its end of the PDK pipe:
 * - who is calling: it has no kong.client.get_consumer and makes up a new random credential on every
 *   kong.client.get_credential, so those two are answered from `caller` (null when absent, as Kong
 *   answers for an anonymous request);
 * - the headers of `kong.response.exit`: its mock iterates them with for…in and records "0", "1", …
 *   instead, so they are taken from the recorded call.
 */
export async function runAccess(config: unknown, caller: Caller = {}): Promise<AccessResult> {
  const request = new Request().useURL(`http://gateway.test${caller.path ?? '/v1/encryption/keyrings'}`).useHeaders(caller.headers ?? {});
  const test = new PluginTest(request);
  const calls: PdkCall[] = [];
  const harnessGet = test.ch.get;
  test.ch.get = async () => {
    for (;;) {
      const message = await harnessGet();
      if (!isPdkCall(message)) return message;
      calls.push({ method: message.Method, args: message.Args });
      if (message.Method === 'kong.client.get_consumer') test.ch.put([caller.consumer ?? null, undefined]);
      else if (message.Method === 'kong.client.get_credential') test.ch.put([caller.credential ?? null, undefined]);
      else return message;
    }
  };
  await test.Run(plugin, config);
  const exitCall = calls.find((call) => call.method === 'kong.response.exit');
  const exit = exitCall && {
    status: exitCall.args[0] as number,
    body: exitCall.args[1] as string,
    headers: exitCall.args[2] as Record<string, string>,
  };
  return { status: test.response.status, body: test.response.body, headers: test.response.headers, calls, ...(exit ? { exit } : {}) };
}

function isPdkCall(message: unknown): message is { Method: string; Args: unknown[] } {
  return typeof message === 'object' && message !== null && 'Method' in message;
}
