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
   * (`"eth0"`), its index, or for IPv4 one of its addresses (`"192.168.1.10"`).
   * Default: the one the kernel's routes pick for the group.
   */
  interface?: string | number;
}

/** One `setsockopt(2)`: level, option name, and the value's bytes. */
export interface SocketOption {
  readonly level: number;
  readonly name: number;
  readonly value: Uint8Array<ArrayBuffer>;
}

const KEYS: ReadonlySet<string> = new Set(["interface"]);

/** A group given as text, checked: an IP literal of the socket's family, multicast. */
function groupOf(group: unknown, domain: number, what: string): Ip {
  const ip = parseHostname(group);
  const v6 = ip.bytes.length === 16;
  if (v6 !== (domain === C.AF_INET6)) {
    throw new TypeError(
      `${what}: ${ip.text} is an ${v6 ? "IPv6" : "IPv4"} group, and this is an ${
        v6 ? "IPv4" : "IPv6"
      } socket`,
    );
  }
  const multicast = v6 ? ip.bytes[0] === 0xff : ip.bytes[0] >= 224 && ip.bytes[0] <= 239;
  if (!multicast) {
    throw new RangeError(
      `${what}: ${ip.text} is not a multicast address (${v6 ? "ff00::/8" : "224.0.0.0/4"})`,
    );
  }
  return ip;
}

/** An interface given by name, index or (IPv4) address: its index, or its IPv4 address bytes. */
function interfaceOf(
  iface: unknown,
  v6: boolean,
  what: string,
): { index: number; address?: Uint8Array } {
  if (iface === undefined) return { index: 0 };
  if (typeof iface === "number") {
    return { index: checkInteger(iface, `${what}: interface index`, 1, 2 ** 31 - 1) };
  }
  if (typeof iface !== "string" || iface === "") {
    throw new TypeError(
      `${what}: interface must be an interface's name, index or IPv4 address, got ${shown(iface)}`,
    );
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(iface) || iface.includes(":")) {
    const ip = parseHostname(iface);
    if (v6 || ip.bytes.length !== 4) {
      throw new TypeError(
        `${what}: ${v6 ? "an IPv6" : "an IPv4"} socket names its interface by name or index` +
          `${v6 ? "" : " or IPv4 address"}, not by '${iface}'`,
      );
    }
    return { index: 0, address: ip.bytes };
  }
  return { index: interfaceIndex(iface, iface) };
}

/** The `ip_mreqn` or `ipv6_mreq` of a group on an interface. */
function membership(ip: Ip, at: { index: number; address?: Uint8Array }): Uint8Array<ArrayBuffer> {
  if (ip.bytes.length === 16) {
    return LAYOUTS.ipv6_mreq.encode({
      ipv6mr_multiaddr: { s6_addr: ip.bytes },
      ipv6mr_interface: at.index,
    }) as Uint8Array<ArrayBuffer>;
  }
  const view = (bytes: Uint8Array) =>
    new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return LAYOUTS.ip_mreqn.encode({
    imr_multiaddr: { s_addr: view(ip.bytes) },
    imr_address: { s_addr: at.address === undefined ? 0 : view(at.address) },
    imr_ifindex: at.index,
  }) as Uint8Array<ArrayBuffer>;
}

/**
 * The option that joins (or leaves) `group` on a socket of `domain`, checked:
 * a TypeError for a group of the other family or a bad interface, a
 * RangeError for an address that is not multicast.
 */
export function membershipOption(
  domain: number,
  join: boolean,
  group: string,
  options: MulticastOptions | undefined,
  what: string,
): SocketOption & { group: string } {
  const o = checkOptions(options, `${what} options`);
  onlyKnown(o, KEYS, `${what} options`);
  const ip = groupOf(group, domain, what);
  const v6 = domain === C.AF_INET6;
  const value = membership(ip, interfaceOf(o.interface, v6, what));
  if (v6) {
    const name = join ? C.IPV6_ADD_MEMBERSHIP : C.IPV6_DROP_MEMBERSHIP;
    return { level: C.IPPROTO_IPV6, name, value, group: ip.text };
  }
  const name = join ? C.IP_ADD_MEMBERSHIP : C.IP_DROP_MEMBERSHIP;
  return { level: C.IPPROTO_IP, name, value, group: ip.text };
}

/** The option that sends multicast by `iface` on a socket of `domain`. */
export function sendInterfaceOption(domain: number, iface: unknown, what: string): SocketOption {
  if (iface === undefined) {
    throw new TypeError(`${what}: give an interface's name, index or address`);
  }
  const v6 = domain === C.AF_INET6;
  const at = interfaceOf(iface, v6, what);
  if (v6) {
    const value = new Uint8Array(4);
    new DataView(value.buffer).setInt32(0, at.index, true);
    return { level: C.IPPROTO_IPV6, name: C.IPV6_MULTICAST_IF, value };
  }
  const none = { bytes: new Uint8Array(4), scope: 0, text: "0.0.0.0" };
  return { level: C.IPPROTO_IP, name: C.IP_MULTICAST_IF, value: membership(none, at) };
}
