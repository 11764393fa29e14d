// Docker in front of a plain-HTTP listener that does not refuse TLS: see startTlsProbeGuard.
import net from 'node:net';

/**
 * A byte-for-byte TCP pass-through to the edge that closes at once every connection opening with a
 * TLS handshake record. Docker tries HTTPS first for a 127.0.0.0/8 registry and falls back to
 * plain HTTP when that fails: origin's HTTP server refuses the ClientHello at once, so the fallback
 * is immediate, while workerd's listener waits for a request line until docker's 10 s TLS
 * handshake timeout, which adds 10 s to every docker command against the edge. Deployed, the edge
 * is reached over HTTPS and there is no probe. The tests and the README's local recipe run workerd
 * over HTTPS instead, which docker takes at once (it does not verify a 127.0.0.0/8 registry's
 * certificate); the benchmark keeps plain HTTP, so that the edge, origin and distribution are
 * compared over the same protocol.
 */
export async function startTlsProbeGuard(target: string): Promise<{ host: string; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    track(client);
    client.on('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      if (first[0] === 0x16) {
        client.destroy();
        return;
      }
      client.pause();
      const upstream = net.connect(Number(port), hostname);
      track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${listening}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
