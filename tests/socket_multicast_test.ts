// UDP multicast: the groups a socket joins and leaves, as the kernel lists
// them (/proc/net/igmp, /proc/net/igmp6), datagrams to a group reaching
// every member, in this process and another, and what is refused before
// the call. IPv6 groups are joined and left on the loopback, which has no
// multicast route here to carry datagrams.
import assert from "node:assert/strict";
import { datagram, type NetAddress } from "../mod.ts";
import { CANNOT, multicastGroups, systemError, TestScope, unless } from "./_kernel.ts";
import { Lines } from "./fixtures/socket_common.ts";

/** A group of this run's own, in the organisation-local range, and its IPv6 twin. */
const n = 1 + (Deno.pid % 250);
const GROUP = `239.255.${(Deno.pid >> 8) & 255}.${n}`;
const GROUP6 = `ff12::4c:${(Deno.pid & 0xffff).toString(16)}`;
const GROUP6_HEX = `ff12${"0".repeat(20)}004c${(Deno.pid & 0xffff).toString(16).padStart(4, "0")}`;

/** How many sockets are in `group` on the loopback, as the kernel lists them. */
const members = (group: string) => multicastGroups("lo").get(group) ?? 0;

Deno.test(
  unless(
    CANNOT.multicast,
    "UDP multicast: members of a group, in this process and another",
    async (t) => {
      await t.step("joined and left, as the kernel lists the group on the interface", () => {
        using s = new TestScope();
        const a = s.handle(datagram({ hostname: "0.0.0.0", port: 0, reuseAddress: true }));
        const b = s.handle(
          datagram({ hostname: "0.0.0.0", port: a.addr.port, reuseAddress: true }),
        );
        // Counted from what is there: another run on this machine may have the same group.
        const before = members(GROUP);
        a.joinMulticast(GROUP, { interface: "lo" });
        b.joinMulticast(GROUP, { interface: "127.0.0.1" }); // by address: the same interface
        assert.equal(members(GROUP), before + 2);
        assert.throws(
          () => a.joinMulticast(GROUP, { interface: "lo" }),
          systemError(Deno.errors.AddrInUse, "EADDRINUSE", "setsockopt", { address: GROUP }),
        );
        a.leaveMulticast(GROUP, { interface: "lo" });
        assert.equal(members(GROUP), before + 1);
        assert.throws(
          () => a.leaveMulticast(GROUP, { interface: "lo" }),
          systemError(Deno.errors.AddrNotAvailable, "EADDRNOTAVAIL", "setsockopt"),
        );
        b.close(); // closing leaves every group
        assert.equal(members(GROUP), before);
      });

      await t.step(
        "a datagram to the group reaches every member, another process's too",
        async () => {
          await using s = new TestScope();
          const local = s.handle(datagram({ hostname: "0.0.0.0", port: 0, reuseAddress: true }));
          const port = local.addr.port;
          const before = members(GROUP);
          local.joinMulticast(GROUP, { interface: "lo" });
          // A member in a child: it joins, says so, and prints the first datagram that comes.
          const out = s.pipe();
          const child = s.fixture("multicast_member.ts", {
            args: [String(port), GROUP],
            fds: { 1: out.writer },
          });
          out.writer.close();
          const lines = new Lines(out.reader, child);
          await lines.expect({ joined: true });
          // Its own join, as the kernel counts it (a socket on the port would get the group's
          // datagrams without one, once any socket here has joined: IP_MULTICAST_ALL).
          assert.equal(members(GROUP), before + 2);
          const sender = s.handle(datagram({ port: 0 }));
          sender.setMulticastInterface("lo");
          sender.setMulticastTtl(0); // this machine only
          sender.setMulticastLoopback(true);
          const to: NetAddress = { transport: "udp", hostname: GROUP, port };
          sender.sendToSync("to every member", to);
          assert.equal(
            new TextDecoder().decode(local.receiveFromSync({ timeout: 30_000 }).data),
            "to every member",
          );
          await lines.expect({ got: "to every member" });
          await child.exits(0);
        },
      );

      await t.step("IPv6: joined and left on an interface named or numbered", () => {
        using s = new TestScope();
        const socket = s.handle(datagram({ hostname: "::", port: 0 }));
        const before = members(GROUP6_HEX);
        socket.joinMulticast(GROUP6, { interface: "lo" });
        assert.equal(members(GROUP6_HEX), before + 1);
        socket.leaveMulticast(GROUP6, { interface: 1 }); // lo is interface 1
        assert.equal(members(GROUP6_HEX), before);
        // A zone names the interface, as options.interface would.
        socket.joinMulticast(`${GROUP6}%lo`);
        assert.equal(members(GROUP6_HEX), before + 1);
        socket.leaveMulticast(`${GROUP6}%lo`, { interface: "lo" });
        assert.equal(members(GROUP6_HEX), before);
        socket.setMulticastInterface("lo");
        socket.setMulticastInterface(0); // the kernel's choice again
        socket.setMulticastTtl(0);
        socket.setMulticastLoopback(false);
      });

      await t.step("IPv4 groups on a dual-stack IPv6 socket; not on an IPv6-only one", () => {
        using s = new TestScope();
        const dual = s.handle(datagram({ hostname: "::", port: 0 }));
        const only = s.handle(datagram({ hostname: "::", port: 0, ipv6Only: true }));
        const before = members(GROUP);
        dual.joinMulticast(GROUP, { interface: "lo" });
        assert.equal(members(GROUP), before + 1);
        dual.leaveMulticast(GROUP, { interface: "lo" });
        assert.equal(members(GROUP), before);
        assert.throws(() => only.joinMulticast(GROUP), /this socket is IPv6 only/);
        assert.throws(() => only.setMulticastInterface("127.0.0.1"), /by name or index, not/);
      });

      await t.step("a dual-stack socket sends to an IPv4 group by the interface set", () => {
        using s = new TestScope();
        const member = s.handle(datagram({ hostname: "0.0.0.0", port: 0, reuseAddress: true }));
        member.joinMulticast(GROUP, { interface: "lo" });
        const sender = s.handle(datagram({ hostname: "::", port: 0 }));
        sender.setMulticastInterface("lo"); // for its IPv4 groups too
        sender.setMulticastTtl(0);
        sender.sendToSync("from a dual-stack socket", { hostname: GROUP, port: member.addr.port });
        const got = member.receiveFromSync({ timeout: 30_000 });
        assert.equal(new TextDecoder().decode(got.data), "from a dual-stack socket");
      });
    },
  ),
);

Deno.test("UDP multicast: what cannot work is refused before any call", () => {
  using s = new TestScope();
  const v4 = s.handle(datagram({ port: 0 }));
  const v6 = s.handle(datagram({ hostname: "::1", port: 0 }));
  const unix = s.handle(datagram());
  const before = members(GROUP);
  const any = (x: unknown) => x as never;
  assert.throws(() => v4.joinMulticast("10.0.0.1"), RangeError);
  assert.throws(() => v6.joinMulticast("fe80::1"), /not a multicast address \(ff00::\/8\)/);
  assert.throws(() => v4.joinMulticast(GROUP6), /an IPv6 group, and this is an IPv4 socket/);
  assert.throws(() => v4.joinMulticast("example.org"), /joinMulticast: group must be/);
  assert.throws(() => v6.joinMulticast(`::ffff:${GROUP}`), /IPv4-mapped: give the IPv4 group/);
  assert.throws(
    () => v6.joinMulticast(`${GROUP6}%lo`, { interface: 999 }),
    /the group's zone names interface 1, and options.interface another/,
  );
  assert.throws(() => v4.joinMulticast(any(42)), TypeError);
  assert.throws(() => v4.joinMulticast(GROUP, any({ iface: "lo" })), /unknown option 'iface'/);
  assert.throws(() => v4.joinMulticast(GROUP, { interface: any(true) }), TypeError);
  assert.throws(() => v4.joinMulticast(GROUP, { interface: -1 }), RangeError);
  assert.throws(
    () => v6.joinMulticast(GROUP6, { interface: "::1" }),
    /by name or index, not '::1'/,
  );
  assert.throws(() => v4.setMulticastInterface(any(undefined)), TypeError);
  assert.throws(() => v4.setMulticastTtl(256), RangeError);
  assert.throws(() => v4.setMulticastLoopback(any("yes")), TypeError);
  for (const call of [() => unix.joinMulticast(GROUP), () => unix.setMulticastTtl(1)]) {
    assert.throws(call, /applies to UDP sockets, not to a Unix one/);
  }
  assert.equal(members(GROUP), before);
  // The kernel's word on an interface that is not there.
  assert.throws(
    () => v4.joinMulticast(GROUP, { interface: "nosuchif0" }),
    (e: unknown) => (e as { code?: string }).code === "ENODEV" && /nosuchif0/.test(String(e)),
  );
  v4.close();
  assert.throws(() => v4.joinMulticast(GROUP), Deno.errors.BadResource);
  // A value wrong whatever the socket is checked first, as every other call does.
  assert.throws(() => v4.setMulticastTtl(256), RangeError);
  assert.throws(() => v4.setMulticastLoopback(any("yes")), TypeError);
});
