import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

/** Where syslog messages go: `tcp://host:port` (RFC 6587) or `tls://host:port` (RFC 5425, port 6514 by convention). */
export interface SyslogDestination {
  readonly protocol: 'tcp' | 'tls';
  readonly host: string;
  readonly port: number;
}

const SYSLOG_URL = /^(tcp|tls):\/\/([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(\d{1,5})$/;

/** Parses a syslog destination URL; no user info, path or query (they would have nowhere to go). */
export function parseSyslogUrl(url: string): SyslogDestination {
  const match = SYSLOG_URL.exec(url);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) throw new Error('must be tcp://host:port or tls://host:port');
  return { protocol: match[1] as 'tcp' | 'tls', host: match[2]!.replace(/^\[|\]$/g, ''), port };
}

/** How a destination is named in cursors, logs and audit records. */
export function destinationName({ protocol, host, port }: SyslogDestination): string {
  return `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface SyslogSenderOptions {
  /** Trusted CA certificates (PEM) for TLS; the platform's default CAs when absent. */
  readonly ca?: string;
  readonly connectTimeoutMs?: number;
}

/**
 * Sends RFC 5424 messages to one collector over TCP or TLS, each framed by octet counting
 * (`<length> <message>`, RFC 6587 §3.4.1, the framing RFC 5425 requires over TLS), on one connection
 * kept open between sends. A failed send closes the connection; the next send opens a new one. TLS
 * verifies the collector's certificate and host name (never disabled).
 *
 * Syslog over TCP has no acknowledgement: a send resolves once the bytes are handed to the socket.
 */
export class SyslogSender {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;

  constructor(
    private readonly destination: SyslogDestination,
    private readonly options: SyslogSenderOptions = {},
  ) {}

  async send(messages: readonly string[]): Promise<void> {
    if (messages.length === 0) return;
    let frames = '';
    for (const message of messages) frames += `${Buffer.byteLength(message, 'utf8')} ${message}`;
    const socket = await this.connected();
    try {
      await new Promise<void>((resolve, reject) => {
        const stop = () => {
          socket.off('error', failed);
          socket.off('close', closed);
        };
        const failed = (error: Error) => {
          stop();
          reject(error);
        };
        const closed = () => failed(new Error('the syslog collector closed the connection'));
        socket.once('error', failed);
        socket.once('close', closed);
        socket.write(frames, 'utf8', (error) => {
          stop();
          if (error) reject(error);
          else resolve();
        });
      });
    } catch (error) {
      this.close();
      throw error;
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.connecting = undefined;
  }

  private connected(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= this.connect().then(
      (socket) => {
        this.socket = socket;
        this.connecting = undefined;
        // A connection dropped between sends is noticed here, and the next send opens a new one.
        socket.on('error', () => undefined);
        socket.once('close', () => {
          if (this.socket === socket) this.socket = undefined;
        });
        return socket;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  private connect(): Promise<Socket> {
    const { protocol, host, port } = this.destination;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    return new Promise<Socket>((resolve, reject) => {
      const socket =
        protocol === 'tls'
          ? connectTls({ host, port, servername: host, ...(this.options.ca ? { ca: this.options.ca } : {}), minVersion: 'TLSv1.2' })
          : connectTcp({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to the syslog collector within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', failed);
        resolve(socket);
      });
      const failed = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once('error', failed);
    });
  }
}
