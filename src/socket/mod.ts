/**
 * Sockets: Unix (stream, datagram, seqpacket; paths and abstract names) and
 * TCP over IPv4 and IPv6: `@libc/ipc/socket`.
 *
 * @module
 */
