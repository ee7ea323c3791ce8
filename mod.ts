/**
 * @libc/ipc — the classic POSIX inter-process-communication primitives for
 * Deno, called in libc through `Deno.dlopen`: no native addon, only
 * `--allow-ffi`.
 *
 * @example A pipe between a parent and a child it spawns
 * ```ts ignore
 * import { FdReader, pipe, spawn } from "@libc/ipc";
 * if (Deno.args[0] === "child") {
 *   using reader = new FdReader(3);
 *   console.log("Child process received:", await new Response(reader.readable).text());
 * } else {
 *   const p = pipe();
 *   await using child = spawn(import.meta.url, { args: ["child"], fds: { 3: p.reader } });
 *   p.reader.close();
 *   await p.writer.write("Hello from parent process");
 *   p.writer.close();
 *   await child.status;
 * }
 * ```
 *
 * @module
 */
export {
  type ErrorSubject,
  IpcError,
  type SystemError,
  type SystemErrorInfo,
} from "./src/errors.ts";
export type { Access, Direction, SyncWaitOptions, WaitOptions } from "./src/options.ts";
export { released } from "./src/_wait/release.ts";
export * from "./src/fd/mod.ts";
export * from "./src/process/mod.ts";
export * from "./src/mq/mod.ts";
export * from "./src/shm/mod.ts";
export * from "./src/sem/mod.ts";
export * from "./src/socket/mod.ts";
export * from "./src/signal/mod.ts";
export * from "./src/lock/mod.ts";
