// Kong's side of the plugin-server protocol (MsgPack:1), written after Kong 3.9's
// kong/runloop/plugin_servers (rpc/mp_rpc.lua, plugin.lua) for the contract test:
// - a call is the msgpack array [0, msgid, method, [arg]], the answer [1, msgid, error, result];
// - plugin.HandleEvent { InstanceId, EventName } starts a phase; its answer's Data is either "ret" (the
//   phase is over) or a PDK call { Method, Args } that Kong runs and answers with plugin.Step<Type>
//   { EventId, Data: result } (plugin.StepError with the error message when the PDK method failed), until
//   "ret". A nil result leaves Data out of the map, as Lua's MessagePack does for a nil table field.
import type * as Msgpack from '@msgpack/msgpack';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

// kong-pdk's own copy of @msgpack/msgpack, the encoder its plugin server answers with.
const msgpack = createRequire(require.resolve('kong-pdk/package.json'))('@msgpack/msgpack') as typeof Msgpack;

/** Kong's by_pdk_method table: PDK methods whose results go back through a typed Step method. */
export const STEP_METHOD_BY_PDK_METHOD: Readonly<Record<string, string>> = {
  'kong.client.get_credential': 'plugin.StepCredential',
  'kong.client.load_consumer': 'plugin.StepConsumer',
  'kong.client.get_consumer': 'plugin.StepConsumer',
  'kong.client.authenticate': 'plugin.StepCredential',
  'kong.node.get_memory_stats': 'plugin.StepMemoryStats',
  'kong.router.get_route': 'plugin.StepRoute',
  'kong.router.get_service': 'plugin.StepService',
  'kong.request.get_query': 'plugin.StepMultiMap',
  'kong.request.get_headers': 'plugin.StepMultiMap',
  'kong.response.get_headers': 'plugin.StepMultiMap',
  'kong.service.response.get_headers': 'plugin.StepMultiMap',
};

export class KongRpcClient {
  private messageId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    void this.readAnswers();
  }

  static async connect(socketPath: string): Promise<KongRpcClient> {
    const socket = connect(socketPath);
    await once(socket, 'connect');
    return new KongRpcClient(socket);
  }

  call<T>(method: string, arg: unknown): Promise<T> {
    const id = ++this.messageId;
    const answer = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.socket.write(msgpack.encode([0, id, method, [arg]]));
    return answer as Promise<T>;
  }

  close(): void {
    this.socket.destroy();
  }

  private async readAnswers(): Promise<void> {
    try {
      for await (const message of msgpack.decodeMultiStream(this.socket)) {
        const [type, id, error, result] = message as [number, number, string | null | undefined, unknown];
        if (type !== 1) throw new Error(`expected an RPC answer, got message type ${type}`);
        const waiter = this.waiting.get(id);
        this.waiting.delete(id);
        if (waiter === undefined) throw new Error(`answer to unknown call #${id}`);
        if (error !== null && error !== undefined) waiter.reject(new Error(error));
        else waiter.resolve(result);
      }
    } catch (error) {
      for (const waiter of this.waiting.values()) waiter.reject(error as Error);
    }
  }
}

/** The request Kong is proxying, as far as PDK calls can see it. */
export interface ProxiedRequest {
  readonly consumer?: Record<string, unknown>;
  readonly credential?: Record<string, unknown>;
  readonly forwardedIp: string;
  /** GET when absent. */
  readonly method?: string;
  readonly path: string;
  /** Lower-case names (Kong's kong.request.get_header is case-insensitive). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly route?: Record<string, unknown>;
}

export interface PhaseOutcome {
  /** PDK calls in order, with the Step method Kong answered each with. */
  readonly calls: { readonly method: string; readonly args: readonly unknown[]; readonly answeredWith: string }[];
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly exit?: { readonly status: number; readonly body: string; readonly headers: Readonly<Record<string, string>> };
}

/**
 * Runs one phase of one instance as Kong's bridge loop does, answering the PDK calls for `request`.
 * A method this fake Kong does not implement fails the phase (Kong would log "could not find pdk method").
 */
export async function runPhase(rpc: KongRpcClient, instanceId: number, phase: string, request: ProxiedRequest): Promise<PhaseOutcome> {
  const calls: { method: string; args: unknown[]; answeredWith: string }[] = [];
  const responseHeaders: Record<string, string> = {};
  let exit: PhaseOutcome['exit'];
  const answer = (method: string, args: unknown[]): unknown => {
    switch (method) {
      case 'kong.client.get_consumer':
        return request.consumer;
      case 'kong.client.get_credential':
        return request.credential;
      case 'kong.client.get_forwarded_ip':
        return request.forwardedIp;
      case 'kong.request.get_header':
        return request.headers?.[String(args[0]).toLowerCase()];
      case 'kong.request.get_path':
        return request.path;
      case 'kong.request.get_method':
        return request.method ?? 'GET';
      case 'kong.router.get_route':
        return request.route;
      case 'kong.response.set_header':
        responseHeaders[String(args[0])] = String(args[1]);
        return undefined;
      case 'kong.response.exit':
        // In the access phase Kong delays the exit until the plugins ran, and returns nothing.
        exit = { status: args[0] as number, body: args[1] as string, headers: args[2] as Record<string, string> };
        return undefined;
      case 'kong.log.warn':
      case 'kong.log.err':
        return undefined;
      default:
        throw new Error(`this fake Kong does not implement ${method}`);
    }
  };

  let step = await rpc.call<{ Data: unknown; EventId: number }>('plugin.HandleEvent', { InstanceId: instanceId, EventName: phase });
  const eventId = step.EventId;
  while (step.Data !== 'ret') {
    if (exit !== undefined) throw new Error(`PDK call after kong.response.exit: ${JSON.stringify(step.Data)}`);
    const { Method, Args } = step.Data as { Method: string; Args: unknown[] };
    const result = answer(Method, Args ?? []);
    const stepMethod = STEP_METHOD_BY_PDK_METHOD[Method] ?? 'plugin.Step';
    calls.push({ method: Method, args: Args ?? [], answeredWith: stepMethod });
    step = await rpc.call(stepMethod, { EventId: eventId, ...(result !== undefined && result !== null ? { Data: result } : {}) });
  }
  return { calls, responseHeaders, ...(exit ? { exit } : {}) };
}
