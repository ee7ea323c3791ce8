/**
 * IP multicast on UDP sockets (ip(7), ipv6(7)): the groups a socket joins, and
 * how it sends to groups, as the `setsockopt(2)` arguments that say so,
 * checked before any call.
 *
 * @module
 */
import { C, LAYOUTS } from "../../ffi/platform.ts";
import { checkInteger, checkOptions, onlyKnown, shown } from "../_check.ts";
import { interfaceIndex, type Ip, parseHostname } from "./_address.ts";

/**
 * Options of {@link DatagramSocket.joinMulticast} and
 * {@link DatagramSocket.leaveMulticast}.
 *
 * @example
 * ```ts
 * import type { MulticastOptions } from "@libc/ipc";
 * const options: MulticastOptions = { interface: "lo" };
 * ```
 */
export interface MulticastOptions {
  /**
   * The network interface to receive the group's datagrams on: its name
   * (`"eth0"`), its index (a number; 0 for the kernel's choice), or for an IPv4
   * group one of its addresses (`"192.168.1.10"`). Default: an IPv6 group's zone
   * (`ff02::1%eth0`), else the interface the kernel's routes pick for the group.
   */
  interface?: string | number;
}

/** One `setsockopt(2)`: level, option name, and the value's bytes. */
export interface SocketOption {
  readonly level: number;
  readonly name: number;
  readonly value: Uint8Array<ArrayBuffer>;
}

/** The socket a multicast option is for: its family, and whether an IPv6 one is IPv6 only. */
export interface MulticastSocket {
  readonly domain: number;
  readonly v6only: boolean;
}

const KEYS: ReadonlySet<string> = new Set(["interface"]);
const ANY_IPV4: Ip = { bytes: new Uint8Array(4), scope: 0, text: "0.0.0.0" };

/** An IP literal, or a TypeError that says which argument of `what` it was. */
function ipOf(text: unknown, what: string, role: string): Ip {
  try {
    return parseHostname(text);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new TypeError(`${what}: ${role} must be an IPv4 or IPv6 address, got ${shown(text)}`);
  }
}

/**
 * A group given as text, checked: a multicast IP literal the socket can
 * join, IPv4 on an IPv4 socket or a dual-stack IPv6 one, IPv6 on an IPv6 one.
 */
function groupOf(group: unknown, socket: MulticastSocket, what: string): Ip {
  const ip = ipOf(group, what, "group");
  const v6 = ip.bytes.length === 16;
  const mapped = v6 && ip.bytes.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
  if (mapped) {
    throw new TypeError(`${what}: ${ip.text} is IPv4-mapped: give the IPv4 group itself`);
  }
  const multicast = v6 ? ip.bytes[0] === 0xff : ip.bytes[0] >= 224 && ip.bytes[0] <= 239;
  if (!multicast) {
    throw new RangeError(
      `${what}: ${ip.text} is not a multicast address (${v6 ? "ff00::/8" : "224.0.0.0/4"})`,
    );
  }
  if (v6 && socket.domain !== C.AF_INET6) {
    throw new TypeError(`${what}: ${ip.text} is an IPv6 group, and this is an IPv4 socket`);
  }
  if (!v6 && socket.domain === C.AF_INET6 && socket.v6only) {
    throw new TypeError(`${what}: ${ip.text} is an IPv4 group, and this socket is IPv6 only`);
  }
  return ip;
}

/** An interface given by name, index or (IPv4) address: its index, or its IPv4 address bytes. */
function interfaceOf(
  iface: unknown,
  v4: boolean,
  what: string,
): { index: number; address?: Uint8Array } {
  if (typeof iface === "number") {
    return { index: checkInteger(iface, `${what}: interface index`, 0, 2 ** 31 - 1) };
  }
  if (typeof iface !== "string" || iface === "") {
    throw new TypeError(
      `${what}: interface must be an interface's name, index or IPv4 address, got ${shown(iface)}`,
    );
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(iface) || iface.includes(":")) {
    const ip = ipOf(iface, what, "interface");
    if (!v4 || ip.bytes.length !== 4) {
      throw new TypeError(
        `${what}: name the interface by name or index${v4 ? " or IPv4 address" : ""}, ` +
          `not '${iface}'`,
      );
    }
    return { index: 0, address: ip.bytes };
  }
  return { index: interfaceIndex(iface, iface) };
}

/** `bytes` (4, network order) as the `s_addr` that holds them: read in the host's order. */
function sAddr(bytes: Uint8Array): number {
  return new Uint32Array(bytes.slice(0, 4).buffer)[0];
}

/** The `ip_mreqn` or `ipv6_mreq` of a group on an interface. */
function membership(ip: Ip, at: { index: number; address?: Uint8Array }): Uint8Array<ArrayBuffer> {
  if (ip.bytes.length === 16) {
    return LAYOUTS.ipv6_mreq.encode({
      ipv6mr_multiaddr: { s6_addr: ip.bytes },
      ipv6mr_interface: at.index,
    }) as Uint8Array<ArrayBuffer>;
  }
  return LAYOUTS.ip_mreqn.encode({
    imr_multiaddr: { s_addr: sAddr(ip.bytes) },
    imr_address: { s_addr: at.address === undefined ? 0 : sAddr(at.address) },
    imr_ifindex: at.index,
  }) as Uint8Array<ArrayBuffer>;
}

/**
 * The option that joins (or leaves) `group` on `socket`, checked: a
 * TypeError for a group the socket cannot join, a bad interface or one that
 * contradicts the group's zone, a RangeError for an address that is not
 * multicast. An IPv4 group on a dual-stack IPv6 socket goes at the IP level.
 */
export function membershipOption(
  socket: MulticastSocket,
  join: boolean,
  group: string,
  options: MulticastOptions | undefined,
  what: string,
): SocketOption & { group: string } {
  const o = checkOptions(options, `${what} options`);
  onlyKnown(o, KEYS, `${what} options`);
  const ip = groupOf(group, socket, what);
  const v4 = ip.bytes.length === 4;
  let at: { index: number; address?: Uint8Array } = { index: ip.scope };
  if (o.interface !== undefined) {
    at = interfaceOf(o.interface, v4, what);
    if (ip.scope !== 0 && at.index !== ip.scope) {
      throw new TypeError(
        `${what}: the group's zone names interface ${ip.scope}, and options.interface another`,
      );
    }
  }
  const value = membership(ip, at);
  if (v4) {
    const name = join ? C.IP_ADD_MEMBERSHIP : C.IP_DROP_MEMBERSHIP;
    return { level: C.IPPROTO_IP, name, value, group: ip.text };
  }
  const name = join ? C.IPV6_ADD_MEMBERSHIP : C.IPV6_DROP_MEMBERSHIP;
  return { level: C.IPPROTO_IPV6, name, value, group: ip.text };
}

/**
 * The options that send multicast by `iface` (0: the kernel's choice) on
 * `socket`: on a dual-stack IPv6 socket, for its IPv4 groups too (an IPv4
 * address names the interface of those alone).
 */
export function sendInterfaceOptions(
  socket: MulticastSocket,
  iface: unknown,
  what: string,
): SocketOption[] {
  if (iface === undefined) {
    throw new TypeError(`${what}: give an interface's name, index (0: the default) or address`);
  }
  const v4 = socket.domain === C.AF_INET || !socket.v6only;
  const at = interfaceOf(iface, v4, what);
  const options: SocketOption[] = [];
  if (socket.domain === C.AF_INET6 && at.address === undefined) {
    const value = new Uint8Array(Int32Array.of(at.index).buffer);
    options.push({ level: C.IPPROTO_IPV6, name: C.IPV6_MULTICAST_IF, value });
  }
  if (v4) {
    options.push({ level: C.IPPROTO_IP, name: C.IP_MULTICAST_IF, value: membership(ANY_IPV4, at) });
  }
  return options;
}

/**
 * The `[level, name]` pairs that set a multicast sending option on `socket`:
 * `ip` at the IPv4 level, `ipv6` at IPv6's, or both on a dual-stack socket.
 */
export function sendLevels(
  socket: MulticastSocket,
  ip: number,
  ipv6: number,
): [level: number, name: number][] {
  if (socket.domain === C.AF_INET) return [[C.IPPROTO_IP, ip]];
  const v6: [number, number] = [C.IPPROTO_IPV6, ipv6];
  return socket.v6only ? [v6] : [v6, [C.IPPROTO_IP, ip]];
}
