// A TCP relay on 127.0.0.1:0 in front of a server that cannot bind port 0 and say which (Redis):
// the relay binds a free port itself, race-free, and keeps it for its whole life, while the server
// behind it (on a unix socket or a TCP port) stops, starts again, or is cut off.
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP relay to a Redis server (its TCP port, or its unix socket) that can be cut (connections
 * dropped, new ones reset at once) and restored. The port it was given stays its own while cut.
 */
export class Relay {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private cutOff = false;

  private constructor(target: number | string) {
    this.server = createServer((client) => {
      if (this.cutOff) {
        client.on('error', () => {});
        client.resetAndDestroy();
        return;
      }
      const upstream =
        typeof target === 'number' ? tcpConnect(target, '127.0.0.1') : tcpConnect({ path: target });
      for (const [socket, other] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(socket);
        socket.on('error', () => {});
        // Either side gone (a Redis killed, an upstream refused): the other goes too.
        socket.on('close', () => {
          this.sockets.delete(socket);
          other.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(target: number | string): Promise<Relay> {
    const relay = new Relay(target);
    await new Promise<void>((resolve, reject) => {
      relay.server.once('error', reject);
      relay.server.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get open(): boolean {
    return !this.cutOff;
  }

  async restore(): Promise<void> {
    this.cutOff = false;
  }

  async cut(): Promise<void> {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    await this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
