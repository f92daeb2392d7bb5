// A TCP proxy in front of a server (MongoDB here) that a test can break on purpose: refuse
// every connection, or let one request through and lose its answer — the server did the
// work, the client only sees the connection drop.
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  /** `host:port` to connect to instead of the server. */
  readonly address: string;
  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** The next request whose bytes satisfy `matches` reaches the server; its answer is thrown away and the connection dropped. */
  loseAnswerTo(matches: (request: Buffer) => boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let refusing = false;
  let loseAnswer: ((request: Buffer) => boolean) | undefined;
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    track(upstream);
    let losing = false;
    client.on("data", (chunk) => {
      if (loseAnswer?.(chunk)) {
        loseAnswer = undefined;
        losing = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!losing) return void client.write(chunk);
      client.destroy();
      upstream.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    loseAnswerTo(matches) {
      loseAnswer = matches;
    },
    close() {
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
