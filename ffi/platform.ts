/**
 * This platform's entry of the registry (`ffi/platforms.ts`): importing this
 * module on a platform without one throws `Deno.errors.NotSupported`.
 *
 * @module
 */
import { platformKey, PLATFORMS, type PlatformTable, unsupported } from "./platforms.ts";

const platform = platformKey(Deno.build.os, Deno.build.arch);

function pick(): PlatformTable {
  const entry = PLATFORMS[platform];
  if (!entry) throw unsupported(platform, "table");
  return entry;
}

const chosen = pick();

/** Path of the C library to open. */
export const LIBC_PATH: string = chosen.lib;
/** Integer constants of the C headers on this platform. */
export const C: PlatformTable["constants"]["constants"] = chosen.constants.constants;
/** `sizeof` of opaque C types on this platform. */
export const SIZEOF: PlatformTable["constants"]["sizes"] = chosen.constants.sizes;
/** Struct layouts of this platform. */
export const LAYOUTS: PlatformTable["layouts"] = chosen.layouts;
/** errno number to C name on this platform. */
export const ERRNO_NAMES: Readonly<Record<number, string>> = chosen.constants.errnoNames;
/** errno C name to number on this platform. */
export const ERRNO: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]),
);
