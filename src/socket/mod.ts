/**
 * Sockets: Unix (stream, datagram, seqpacket; paths and abstract names;
 * descriptor passing and peer credentials) and TCP over IPv4 and IPv6:
 * `@libc/ipc/socket`.
 *
 * @example A Unix socket server and client
 * ```ts
 * import { connect, listen } from "@libc/ipc/socket";
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * {
 *   using listener = listen({ path: `${dir}/echo.sock` });
 *   using client = await connect({ path: `${dir}/echo.sock` });
 *   using server = await listener.accept();
 *   await client.write("ping");
 *   client.shutdown("write");
 *   await server.readable.pipeTo(server.writable); // echo until end of stream
 *   assert.equal(await new Response(client.readable).text(), "ping");
 * }
 * Deno.removeSync(dir);
 * ```
 *
 * @module
 */
export type {
  NetAddress,
  SocketAddress,
  SocketType,
  UnixAbstractAddress,
  UnixAddress,
  UnixPathAddress,
  UnixUnnamedAddress,
} from "./address.ts";
export {
  Connection,
  type ConnectionReceiveFdsOptions,
  type ReceiveFdsLimits,
  type ReceiveFdsSyncOptions,
  type ShutdownHow,
} from "./connection.ts";
export { ReceivedFds } from "./received_fds.ts";
export type { AllowUids, PeerCredentials } from "./_credentials.ts";
export type { FdSource } from "../fd/_fd_source.ts";
export {
  type AbstractListenOptions,
  listen,
  Listener,
  type ListenerType,
  type ListenOptions,
  type PeerAccessOptions,
  type TcpListenOptions,
  type UnixListenOptions,
} from "./listener.ts";
export {
  type AbstractConnectTarget,
  connect,
  type ConnectOptions,
  connectSync,
  type ConnectSyncOptions,
  type ConnectTarget,
  type SocketPair,
  socketpair,
  type TcpConnectTarget,
  type UdpConnectTarget,
  type UnixConnectTarget,
} from "./connect.ts";
export {
  type AbstractDatagramOptions,
  type Datagram,
  datagram,
  type DatagramInfo,
  type DatagramOptions,
  DatagramSocket,
  type DatagramTarget,
  type UdpDatagramOptions,
  type UnixDatagramOptions,
} from "./datagram.ts";
export type { MulticastOptions } from "./_multicast.ts";
export {
  type SocketBufferSizes,
  type SocketBufferSizesOptions,
  SocketHandle,
} from "./socket_handle.ts";
export { FdHandle } from "../fd/handle.ts";
export { FdReader } from "../fd/reader.ts";
export { FdWriter } from "../fd/writer.ts";
export type { WriteData } from "../fd/writer.ts";
export { type ErrorSubject, IpcError, type SystemError, type SystemErrorInfo } from "../errors.ts";
export type { SyncWaitOptions, WaitOptions } from "../options.ts";
export type { PathLike } from "../_path.ts";
export { released } from "../_wait/release.ts";
