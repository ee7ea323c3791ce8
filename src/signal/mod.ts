/**
 * Signals: sending them (with a value), and reading them with their sender
 * and value through `signalfd`: `@libc/ipc/signal`.
 *
 * @module
 */
