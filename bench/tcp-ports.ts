// Shared by bench/audit and bench/rate-limit: which TCP connections belong to a process, read from
// /proc (Linux), to tell its PostgreSQL backends from everyone else's.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Local ports of the TCP sockets these processes hold; with `remotePort`, only those connected to it. */
export function localTcpPorts(pids: readonly number[], remotePort?: number): Set<number> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // the process exited meanwhile
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      // no such table (no IPv6)
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns.length < 10 || !inodes.has(columns[9]!)) continue;
      if (remotePort === undefined || parseInt(columns[2]!.split(':')[1]!, 16) === remotePort)
        ports.add(parseInt(columns[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}
