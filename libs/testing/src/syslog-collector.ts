import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/** A syslog collector for tests: a TCP or TLS server reading RFC 6587 octet-counted frames (`<length> <message>`). */
export interface SyslogCollector {
  readonly host: string;
  readonly port: number;
  /** The messages received, in order, across connections. */
  readonly messages: string[];
  /** Frames that did not start with an octet count (the connection that sent one is closed). */
  readonly malformed: number;
  close(): Promise<void>;
}

export interface SyslogCollectorOptions {
  /** A port to listen on (e.g. the port of a collector that was closed); a free one when absent. */
  readonly port?: number;
  /** Serve TLS with this key and certificate (PEM) instead of plain TCP. */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Append to this array instead of a new one (a collector that comes back keeps one list). */
  readonly messages?: string[];
}

export async function startSyslogCollector(options: SyslogCollectorOptions = {}): Promise<SyslogCollector> {
  const messages = options.messages ?? [];
  const sockets = new Set<Socket>();
  let malformed = 0;
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const space = pending.indexOf(0x20);
        if (space < 0) return;
        const length = Number(pending.subarray(0, space).toString('ascii'));
        if (!/^[1-9]\d{0,8}$/.test(pending.subarray(0, space).toString('ascii'))) {
          malformed += 1;
          socket.destroy();
          return;
        }
        if (pending.length < space + 1 + length) return;
        messages.push(pending.subarray(space + 1, space + 1 + length).toString('utf8'));
        pending = pending.subarray(space + 1 + length);
      }
    });
  };
  const server: Server = options.tls ? createTlsServer(options.tls, accept) : createTcpServer(accept);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    messages,
    get malformed() {
      return malformed;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
