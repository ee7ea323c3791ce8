/**
 * The one platform registry: for each platform, the C library to open, the
 * constants generated from its headers, and its struct layouts. Importing it
 * never fails. `ffi/platform.ts` picks this platform's entry and throws
 * `Deno.errors.NotSupported` when there is none, so every module that calls
 * libc fails the same way, never with a wrong result; the struct layer stays
 * importable everywhere (declaring structs needs no libc), and its
 * `layoutsFor` throws the same error when a missing layout is read.
 *
 * @module
 */
import * as linuxX64 from "./constants/linux_x86_64.ts";
import * as linuxX64Layouts from "./struct/layouts/linux_x86_64.ts";
import * as linuxArm64 from "./constants/linux_aarch64.ts";
import * as linuxArm64Layouts from "./struct/layouts/linux_aarch64.ts";
import type { Layouts } from "./struct/layouts.ts";

/** Integer constants, sizes of opaque types and errno names, from a C probe. */
export interface Constants {
  /** Integer constants of the C headers, by their C names. */
  readonly constants: { readonly [K in keyof typeof linuxX64.constants]: number };
  /** `sizeof` of opaque C types. */
  readonly sizes: { readonly [K in keyof typeof linuxX64.sizes]: number };
  /** errno number to its C name. */
  readonly errnoNames: Readonly<Record<number, string>>;
}

/** What the library needs to know of one platform. */
export interface PlatformTable {
  /** The C library to open. */
  readonly lib: string;
  /** Integer constants, sizes of opaque types and errno names, from a C probe. */
  readonly constants: Constants;
  /** Struct layouts, by C name. */
  readonly layouts: Layouts;
}

/** Every supported platform, by `"<Deno.build.os> <Deno.build.arch>"`. */
export const PLATFORMS: Readonly<Record<string, PlatformTable>> = {
  "linux x86_64": { lib: "libc.so.6", constants: linuxX64, layouts: linuxX64Layouts },
  "linux aarch64": { lib: "libc.so.6", constants: linuxArm64, layouts: linuxArm64Layouts },
};

/** The registry key of a platform. */
export function platformKey(os: string, arch: string): string {
  return `${os} ${arch}`;
}

/** The error for a platform without an entry; `what` names the missing piece. */
export function unsupported(platform: string, what: string, detail?: string): Error {
  const supported = `supported: ${Object.keys(PLATFORMS).join(", ")}`;
  return new Deno.errors.NotSupported(
    `@libc/ipc has no ${what} for ${platform} yet (${
      detail === undefined ? "" : `${detail}; `
    }${supported})`,
  );
}
