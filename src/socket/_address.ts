/**
 * Socket addresses in C: checking what users give (`{ path }`, `{ abstract }`,
 * `{ hostname, port }`), encoding it as a `sockaddr_un`/`sockaddr_in`/
 * `sockaddr_in6`, and decoding what the kernel reports. Host names are IP
 * literals only: resolving names needs a resolver, which libc's would bring in
 * through NSS modules and blocking DNS calls.
 *
 * @module
 */
import { C, LAYOUTS, SIZEOF } from "../../ffi/platform.ts";
import type { ErrorSubject } from "../errors.ts";
import { type PathLike, pathText } from "../_path.ts";
import { checkInteger, shown } from "../_check.ts";
import type { NetAddress, SocketAddress } from "./address.ts";
import { cString, decodeName, encodeName } from "../../ffi/cstring.ts";
import { libc } from "../../ffi/libc.ts";
import { errorOf, lastErrno } from "../_sys.ts";

const SUN = LAYOUTS.sockaddr_un;
const SIN = LAYOUTS.sockaddr_in;
const SIN6 = LAYOUTS.sockaddr_in6;
/** Room for any address this family decodes (`sizeof(struct sockaddr_storage)`). */
export const SOCKADDR_MAX: number = SIZEOF.sockaddr_storage;
/** Bytes of `sun_path` a name may use: one is left for the NUL of a path. */
export const UNIX_NAME_MAX = SUN.fields.sun_path.length - 1;
const PATH_AT = SUN.offsets.sun_path;
/** `sa_family_t` is in host byte order; ports and IP addresses in network (big-endian) order. */
const HOST_LE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Where to bind, connect or send: the socket domain, the encoded address, what errors name. */
export interface Endpoint {
  /** `AF_UNIX`, `AF_INET` or `AF_INET6`. */
  readonly domain: number;
  /** The encoded `struct sockaddr_*`. */
  readonly sockaddr: Uint8Array<ArrayBuffer>;
  /** Its length for the call (`socklen_t`): for Unix names, up to the name's end. */
  readonly length: number;
  /** What errors about it name: `{ path }` or `{ address }`. */
  readonly subject: ErrorSubject;
  /** The socket file's path, for a Unix path. */
  readonly path?: string;
}

/** What an endpoint is given as: the options of `listen`, `connect`, `datagram`, `sendTo`. */
export interface Where {
  path?: PathLike;
  abstract?: string;
  hostname?: string;
  port?: number;
  unnamed?: boolean;
  /** Given with an address object (`listener.addr`): it must be the transport used. */
  transport?: string;
}

/** Which forms of a net address are acceptable. */
interface NetRules {
  /** `"tcp"` or `"udp"`, for messages. */
  readonly transport: "tcp" | "udp";
  /** Whether port 0 ("any free port") may be asked for: binding, not connecting. */
  readonly portZero: boolean;
}

/** The endpoint `where` names; TypeError/RangeError for anything malformed. */
export function endpointOf(where: unknown, rules: NetRules, what: string): Endpoint {
  if (typeof where !== "object" || where === null) {
    throw new TypeError(
      `${what} must be an object with a path, an abstract name or a port, got ${shown(where)}`,
    );
  }
  const w = where as Where;
  const has = (key: keyof Where) => w[key] !== undefined;
  // An unnamed one (an unbound peer, as a receive reports it) is a Unix address too.
  const unix = has("path") || has("abstract") || w.unnamed === true;
  if (has("path") && has("abstract")) {
    throw new TypeError(`${what}: give a path or an abstract name, not both`);
  }
  if (unix && (has("hostname") || has("port"))) {
    throw new TypeError(`${what}: a Unix address (path, abstract) takes no hostname or port`);
  }
  if (has("transport") && w.transport !== (unix ? "unix" : rules.transport)) {
    throw new TypeError(
      `${what}: the transport given (${shown(w.transport)}) does not fit a ${
        unix ? "Unix" : rules.transport.toUpperCase()
      } address here`,
    );
  }
  if (has("path")) return pathEndpoint(w.path!);
  if (has("abstract")) return abstractEndpoint(w.abstract!);
  if (w.unnamed === true) throw new TypeError(`${what}: an unnamed socket has no address to use`);
  if (!has("port")) {
    throw new TypeError(`${what} must have a path, an abstract name, or a port (and a hostname)`);
  }
  return netEndpoint(w.hostname, w.port, rules);
}

/** A Unix path endpoint: RangeError if the path does not fit `sun_path`, TypeError for a NUL. */
export function pathEndpoint(path: PathLike): Endpoint {
  // Node's and Python's spelling of an abstract name.
  if (typeof path === "string" && path.startsWith("\0")) {
    throw new TypeError(
      `path must not contain a NUL character: an abstract name is given as { abstract: ${
        JSON.stringify(path.slice(1))
      } }`,
    );
  }
  const text = pathText(path);
  const bytes = encodeName(text, "path");
  if (bytes.byteLength > UNIX_NAME_MAX) {
    throw new RangeError(
      `path is ${bytes.byteLength} bytes long; a Unix socket path holds at most ${UNIX_NAME_MAX} ` +
        `(sun_path has ${UNIX_NAME_MAX + 1} bytes with the NUL): use a shorter or relative path`,
    );
  }
  const sockaddr = unixSockaddr(bytes, 0);
  return {
    domain: C.AF_UNIX,
    sockaddr,
    length: PATH_AT + bytes.byteLength + 1,
    subject: { path: text },
    path: text,
  };
}

/** An abstract-name endpoint: a NUL byte, then the name (any bytes; no NUL after it). */
export function abstractEndpoint(name: string): Endpoint {
  if (typeof name !== "string") {
    throw new TypeError(`abstract must be a string, got ${typeof name}`);
  }
  if (name === "") throw new TypeError("abstract must not be empty");
  if (name.startsWith("\0")) {
    // C code spells the name with the kernel's leading NUL; kept, it would name another socket.
    throw new TypeError(
      "abstract must not start with a NUL byte: the library adds the one the kernel needs",
    );
  }
  const bytes = encodeName(name, "abstract");
  if (bytes.byteLength > UNIX_NAME_MAX) {
    throw new RangeError(
      `abstract name is ${bytes.byteLength} bytes long; the limit is ${UNIX_NAME_MAX}`,
    );
  }
  return {
    domain: C.AF_UNIX,
    sockaddr: unixSockaddr(bytes, 1),
    length: PATH_AT + 1 + bytes.byteLength,
    subject: { address: `@${name}` },
  };
}

function unixSockaddr(name: Uint8Array, at: number): Uint8Array<ArrayBuffer> {
  const sun_path = new Uint8Array(SUN.fields.sun_path.length);
  sun_path.set(name, at);
  return SUN.encode({ sun_family: C.AF_UNIX, sun_path }) as Uint8Array<ArrayBuffer>;
}

/** An IPv4 or IPv6 endpoint. */
function netEndpoint(hostname: unknown, portGiven: unknown, rules: NetRules): Endpoint {
  const port = checkInteger(portGiven, "port", rules.portZero ? 0 : 1, 65535);
  // Only undefined means "not given" (null is a wrong type, as everywhere).
  const ip = parseHostname(hostname === undefined ? "127.0.0.1" : hostname);
  const address = formatNet(ip.text, port);
  if (ip.bytes.byteLength === 4) {
    const sockaddr = SIN.encode({
      sin_family: C.AF_INET,
      sin_port: 0,
      sin_addr: { s_addr: 0 },
      sin_zero: new Uint8Array(8),
    }) as Uint8Array<ArrayBuffer>;
    new DataView(sockaddr.buffer).setUint16(SIN.offsets.sin_port, port);
    sockaddr.set(ip.bytes, SIN.offsets.sin_addr);
    return { domain: C.AF_INET, sockaddr, length: SIN.size, subject: { address } };
  }
  const sockaddr = SIN6.encode({
    sin6_family: C.AF_INET6,
    sin6_port: 0,
    sin6_flowinfo: 0,
    sin6_addr: { s6_addr: ip.bytes },
    sin6_scope_id: ip.scope,
  }) as Uint8Array<ArrayBuffer>;
  new DataView(sockaddr.buffer).setUint16(SIN6.offsets.sin6_port, port);
  return { domain: C.AF_INET6, sockaddr, length: SIN6.size, subject: { address } };
}

/**
 * An IPv4 endpoint as the IPv4-mapped IPv6 address of a dual-stack socket
 * (`::ffff:a.b.c.d`), which errors still name as given.
 */
export function mappedToIPv6(at: Endpoint): Endpoint {
  const view = new DataView(at.sockaddr.buffer);
  const v4 = at.sockaddr.subarray(SIN.offsets.sin_addr, SIN.offsets.sin_addr + 4);
  const port = view.getUint16(SIN.offsets.sin_port);
  const mapped = netEndpoint(`::ffff:${formatIPv4(v4)}`, port, {
    transport: "udp",
    portZero: true,
  });
  return { ...mapped, subject: at.subject };
}

/** `127.0.0.1:80`, `[::1]:80`: how errors name a net address. */
export function formatNet(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** What errors name for `address`. */
export function subjectOf(address: SocketAddress): ErrorSubject {
  if (address.transport !== "unix") return { address: formatNet(address.hostname, address.port) };
  if ("path" in address) return { path: address.path };
  if ("abstract" in address) return { address: `@${address.abstract}` };
  return {};
}

/** An IP address parsed: its bytes (4 or 16), IPv6 scope id, and canonical text. */
export interface Ip {
  bytes: Uint8Array;
  scope: number;
  text: string;
}

/**
 * Parses an IP literal: dotted IPv4 (no leading zeros: `010` would be octal
 * to some parsers), IPv6 (optionally in brackets, with a `%zone`: a scope id,
 * or the name of a network interface, looked up),
 * or `"localhost"` as `127.0.0.1`. Anything else is a TypeError: no names are
 * resolved.
 */
export function parseHostname(hostname: unknown): Ip {
  if (typeof hostname !== "string") {
    throw new TypeError(`hostname must be a string, got ${shown(hostname)}`);
  }
  let h = hostname === "localhost" ? "127.0.0.1" : hostname;
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  const v4 = parseIPv4(h);
  if (v4 !== undefined) return { bytes: v4, scope: 0, text: formatIPv4(v4) };
  const v6 = parseIPv6(h);
  if (v6 !== undefined) return v6;
  throw new TypeError(
    `hostname must be an IPv4 or IPv6 address (names are not resolved), got '${hostname}'`,
  );
}

function parseIPv4(text: string): Uint8Array | undefined {
  const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(text);
  if (m === null) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : undefined;
}

/** The 16-bit groups of one side of `::`, an IPv4 tail allowed at the end; undefined if malformed. */
function groupsOf(text: string, v4Tail: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (v4Tail && i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIPv4(p);
      if (v4 === undefined) return undefined;
      words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
      words.push(parseInt(p, 16));
    } else {
      return undefined;
    }
  }
  return words;
}

function parseIPv6(text: string): Ip | undefined {
  const pct = text.indexOf("%");
  const zone = pct < 0 ? "" : text.slice(pct + 1);
  if (pct >= 0) text = text.slice(0, pct);
  const numeric = /^\d{1,10}$/.test(zone) && Number(zone) <= 0xffffffff;
  // A name as the kernel takes one (the interface is looked up once the address parses).
  const named = !numeric && /^[^\s/:%\0]{1,15}$/.test(zone) && zone !== "." && zone !== "..";
  if (pct >= 0 && !numeric && !named) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1], true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const words = [...head, ...new Array(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  if (!named) return { bytes, scope: Number(zone), text: formatIPv6(bytes, Number(zone)) };
  const written = `${formatIPv6(bytes, 0)}%${zone}`;
  return { bytes, scope: interfaceIndex(zone, written), text: written };
}

/**
 * The index of the network interface `name` (an IPv6 zone's, `fe80::1%eth0`,
 * or a multicast group's); an unknown one is the error of `if_nametoindex`
 * (ENODEV), naming `address`.
 */
export function interfaceIndex(name: string, address: string): number {
  const index = libc.if_nametoindex(cString(name, "an interface name"));
  if (index === 0) throw errorOf(lastErrno(), "if_nametoindex", { address });
  return index;
}

function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv6 text as RFC 5952 writes it: lower case, the longest run of 2+ zero groups as `::`. */
function formatIPv6(b: Uint8Array, scope: number): string {
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i] << 8) | b[2 * i + 1]);
  const suffix = scope === 0 ? "" : `%${scope}`;
  // IPv4-mapped addresses (a dual-stack socket's IPv4 peers) keep their dotted tail.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(b.subarray(12))}${suffix}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words) + suffix;
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}${suffix}`;
}

/**
 * Decodes the `len` bytes of a socket address the kernel wrote into `bytes`
 * (`accept4`, `getsockname`, `recvfrom`). `transport` names what a net
 * address is (`"tcp"` for stream sockets, `"udp"` for datagram ones).
 */
export function decodeAddress(
  bytes: Uint8Array,
  len: number,
  transport: "tcp" | "udp",
): SocketAddress {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = len >= 2 ? view.getUint16(SUN.offsets.sun_family, HOST_LE) : C.AF_UNIX;
  if (family === C.AF_UNIX) {
    if (len <= PATH_AT) return { transport: "unix", unnamed: true };
    if (bytes[PATH_AT] === 0) {
      return { transport: "unix", abstract: decodeName(bytes.subarray(PATH_AT + 1, len)) };
    }
    const name = bytes.subarray(PATH_AT, len);
    const nul = name.indexOf(0);
    return { transport: "unix", path: decodeName(nul < 0 ? name : name.subarray(0, nul)) };
  }
  if (family === C.AF_INET) {
    const at = SIN.offsets.sin_addr;
    return {
      transport,
      hostname: formatIPv4(bytes.subarray(at, at + 4)),
      port: view.getUint16(SIN.offsets.sin_port),
    } satisfies NetAddress;
  }
  if (family === C.AF_INET6) {
    const at = SIN6.offsets.sin6_addr;
    const scope = view.getUint32(SIN6.offsets.sin6_scope_id, HOST_LE);
    return {
      transport,
      hostname: formatIPv6(bytes.subarray(at, at + 16), scope),
      port: view.getUint16(SIN6.offsets.sin6_port),
    } satisfies NetAddress;
  }
  throw new TypeError(`socket address family ${family} is not one this library handles`);
}

/**
 * Every member of every variant of the union `U`, each optional: options read
 * before their variant is known (a variant's `?: never` members keep callers
 * from mixing them, and would make an intersection of the variants `never`).
 */
export type AnyOf<U> = {
  [K in U extends unknown ? keyof U : never]?: U extends unknown ? K extends keyof U ? U[K] : never
    : never;
};
