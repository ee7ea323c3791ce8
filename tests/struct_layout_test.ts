/**
 * Checks the struct layouts of every platform against its C compiler (see
 * ffi/gen/layout_probe.ts): this machine's with `cc`, another CPU's with its
 * cross compiler, its C library headers and qemu (`aarch64-linux-gnu-gcc`,
 * `qemu-aarch64`), skipped with a message where those are not installed.
 */
import { deepStrictEqual, notDeepStrictEqual } from "node:assert/strict";
import { missingTools, target } from "../ffi/gen/c_probe.ts";
import { allStructs, compare, probe, structChecks } from "../ffi/gen/layout_probe.ts";
import { PLATFORMS } from "../ffi/platforms.ts";
import {
  array,
  i32,
  layoutsFor,
  long,
  size_t,
  type Struct,
  struct,
  u16,
  u8,
} from "@libc/ipc/struct";

/** The Linux CPUs with layouts. */
const ARCHES = Object.keys(PLATFORMS).flatMap((p) => {
  const [os, arch] = p.split(" ");
  return os === "linux" ? [arch] : [];
});

for (const arch of ARCHES) {
  const platformLayouts = layoutsFor("linux", arch);
  const t = target(arch);
  const missing = await missingTools(t);
  if (missing.length > 0) {
    console.warn(
      `struct_layout_test: skipping the linux ${arch} layout probe, missing: ${missing.join(", ")}`,
    );
  }

  Deno.test({
    name: `struct layouts match the C compiler (linux ${arch})`,
    ignore: missing.length > 0,
    async fn(ctx) {
      const structs = allStructs(Object.values(platformLayouts));
      const c = await probe(structs.flatMap(structChecks), t);

      for (const s of structs) {
        await ctx.step(`struct ${s.name}`, () => {
          const { actual, expected } = compare(structChecks(s), c);
          deepStrictEqual(actual, expected);
        });
      }

      await ctx.step("the probe catches wrong declarations", () => {
        const { sembuf, msqid_ds, sockaddr_in6, in_addr, msghdr, signalfd_siginfo } =
          platformLayouts;
        const mutants: Struct[] = [
          // Wrong signedness, same size.
          struct("sembuf", { ...sembuf.fields, sem_op: u16 }),
          // Wrong size: every later offset moves.
          struct("msqid_ds", { ...msqid_ds.fields, msg_lspid: long }),
          // Wrong nested struct.
          struct("sockaddr_in6", { ...sockaddr_in6.fields, sin6_addr: in_addr }),
          // An integer where C has a pointer, same size.
          struct("msghdr", { ...msghdr.fields, msg_name: size_t }),
          // Wrong array length.
          struct("signalfd_siginfo", { ...signalfd_siginfo.fields, __pad: array(u8, 27) }),
          // A member C does not have.
          struct("ucred", { pid: i32, uid: i32, gid: i32, extra: i32 }),
        ];
        for (const mutant of mutants) {
          const { actual, expected } = compare(structChecks(mutant), c);
          notDeepStrictEqual(actual, expected, `mutant ${mutant.name} passed the probe`);
        }
      });
    },
  });
}

/**
 * Holes C leaves unnamed, by platform and struct. Every other byte belongs to
 * a declared member, so dropping a reserved member that alignment would hide
 * (such as ipc_perm.__pad2) fails here even though every offset stays right.
 */
const UNNAMED_PADDING: Record<string, Record<string, [number, number][]>> = {
  x86_64: {
    ipc_perm: [[28, 32]],
    msghdr: [[12, 16], [52, 56]],
    sigaction: [[140, 144]],
    dirent: [[275, 280]],
    flock: [[4, 8], [28, 32]],
  },
  aarch64: {
    ipc_perm: [[28, 32]],
    msghdr: [[12, 16], [52, 56]],
    sigaction: [[140, 144]],
    dirent: [[275, 280]],
    flock: [[4, 8], [28, 32]],
    // Not packed there: `data` is 8-aligned.
    epoll_event: [[4, 8]],
  },
};

function holes(s: Struct): [number, number][] {
  const found: [number, number][] = [];
  let end = 0;
  for (const [name, t] of Object.entries(s.fields)) {
    const offset = s.offsets[name];
    if (offset > end) found.push([end, offset]);
    end = offset + t.size;
  }
  if (s.size > end) found.push([end, s.size]);
  return found;
}

for (const arch of ARCHES) {
  Deno.test(`struct layouts declare every byte C names (linux ${arch})`, () => {
    const padding = UNNAMED_PADDING[arch];
    const platformLayouts = layoutsFor("linux", arch);
    for (const s of allStructs(Object.values(platformLayouts))) {
      deepStrictEqual(holes(s), padding[s.name] ?? [], `struct ${s.name}`);
    }
    const { ipc_perm } = platformLayouts;
    const { __pad2: _, ...withoutPad } = ipc_perm.fields;
    notDeepStrictEqual(holes(struct("ipc_perm", withoutPad)), padding.ipc_perm);
  });
}
