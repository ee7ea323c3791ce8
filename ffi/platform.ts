/**
 * The platform table: which libc to open and which generated constants apply.
 * A platform without a table fails with `Deno.errors.NotSupported`, never with
 * a wrong result.
 *
 * @module
 */
import * as linuxX64 from "./constants/linux_x86_64.ts";

type Table = typeof linuxX64;

const tables: Record<string, { lib: string; table: Table }> = {
  "linux x86_64": { lib: "libc.so.6", table: linuxX64 },
};

const platform = `${Deno.build.os} ${Deno.build.arch}`;

function pick(): { lib: string; table: Table } {
  const entry = tables[platform];
  if (!entry) {
    throw new Deno.errors.NotSupported(
      `@libc/ipc has no table for ${platform} yet (supported: ${Object.keys(tables).join(", ")})`,
    );
  }
  return entry;
}

const chosen = pick();

/** Path of the C library to open. */
export const LIBC_PATH: string = chosen.lib;
/** Integer constants of the C headers on this platform. */
export const C: Table["constants"] = chosen.table.constants;
/** `sizeof` of opaque C types on this platform. */
export const SIZEOF: Table["sizes"] = chosen.table.sizes;
/** errno number to C name on this platform. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = chosen.table.errnoNames;
/** errno C name to number on this platform. */
export const ERRNO: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]),
);
