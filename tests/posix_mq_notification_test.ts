// PosixMessageQueue.requestNotification / cancelNotification (mq_notify(3)):
// what the kernel records (the queue's file under /dev/mqueue), the signal
// this process hears, when the request ends, and what is refused before the call.
// The signal sent to another process with its value: signal_test.ts.
import assert from "node:assert/strict";
import { PosixMessageQueue } from "../mod.ts";
import { CANNOT, posixQueueNotifier, systemError, TestScope, unless } from "./_kernel.ts";

/** A queue of this scope, open for reading and writing. */
function queue(s: TestScope): { q: PosixMessageQueue; name: string } {
  const name = s.posixName();
  return { q: s.handle(PosixMessageQueue.open(name, { create: true, messageSize: 32 })), name };
}

/** Listens for SIGUSR2 while `body` runs; counts what it hears. */
async function listening(
  body: (heard: { count: number; next: () => Promise<void> }) => Promise<void> | void,
): Promise<void> {
  let waiter: (() => void) | undefined;
  const heard = {
    count: 0,
    next: () => new Promise<void>((resolve) => waiter = resolve),
  };
  const listener = () => {
    heard.count++;
    waiter?.();
  };
  Deno.addSignalListener("SIGUSR2", listener);
  // A signal listener keeps nothing alive: a timer does while the body waits.
  const alive = setInterval(() => {}, 60_000);
  try {
    await body(heard);
  } finally {
    clearInterval(alive);
    Deno.removeSignalListener("SIGUSR2", listener);
  }
}

const SIGUSR2 = 12;

Deno.test("requestNotification: the kernel's record of it, and when it ends", async (t) => {
  await t.step(
    unless(CANNOT.mqNotify ?? CANNOT.mqueueFs, "asked, cancelled, asked again", async () => {
      await using s = new TestScope();
      const { q, name } = queue(s);
      await listening(() => {
        assert.equal(posixQueueNotifier(name), null);
        q.requestNotification("SIGUSR2", { value: 5 });
        assert.deepEqual(posixQueueNotifier(name), { pid: Deno.pid, signal: SIGUSR2 });
        q.cancelNotification();
        assert.equal(posixQueueNotifier(name), null);
        q.cancelNotification(); // none to end: nothing
        q.requestNotification(SIGUSR2);
        assert.deepEqual(posixQueueNotifier(name), { pid: Deno.pid, signal: SIGUSR2 });
      });
    }),
  );

  await t.step(
    unless(
      CANNOT.mqNotify,
      "a second request, this process's own too, is Busy naming the queue",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        await listening(() => {
          q.requestNotification("SIGUSR2");
          assert.throws(
            () => q.requestNotification("SIGUSR2", { value: 1 }),
            systemError(Deno.errors.Busy, "EBUSY", "mq_notify", { path: name, fd: q.fd }),
          );
          assert.throws(() => q.requestNotification("SIGUSR2"), /asked for notification already/);
        });
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.mqNotify,
      "the signal comes once: a message to the empty queue ends the request",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        await listening(async (heard) => {
          q.requestNotification("SIGUSR2", { value: 3 });
          const next = heard.next();
          q.trySend("first");
          await next;
          assert.equal(heard.count, 1);
          if (CANNOT.mqueueFs === undefined) assert.equal(posixQueueNotifier(name), null);
          // Ended, so it may be asked again: the next message to the empty queue signals again.
          assert.equal(new TextDecoder().decode(q.tryReceive().data), "first");
          q.requestNotification("SIGUSR2");
          const second = heard.next();
          q.trySend("second");
          await second;
          assert.equal(heard.count, 2);
          assert.equal(new TextDecoder().decode(q.tryReceive().data), "second");
        });
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.mqueueFs,
      "closing any descriptor of the queue ends it, as the kernel has it",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        await listening(() => {
          q.requestNotification("SIGUSR2");
          PosixMessageQueue.open(name).close(); // another handle of the same queue
          assert.equal(posixQueueNotifier(name), null);
          q.requestNotification("SIGUSR2");
          q.close();
          assert.equal(posixQueueNotifier(name), null);
          // Closed, it says so before any call.
          assert.throws(
            () => q.requestNotification("SIGUSR2"),
            systemError(Deno.errors.BadResource, "EBADF", "mq_notify"),
          );
          assert.throws(
            () => q.cancelNotification(),
            systemError(Deno.errors.BadResource, "EBADF", "mq_notify"),
          );
        });
      },
    ),
  );
});

Deno.test("requestNotification refuses before any call what cannot work", async (t) => {
  await using s = new TestScope();
  const { q, name } = queue(s);
  const unasked = () => {
    if (CANNOT.mqueueFs === undefined) assert.equal(posixQueueNotifier(name), null);
  };
  const any = (x: unknown) => x as never;

  await t.step("bad signals and values: TypeError and RangeError", async () => {
    await listening(() => {
      for (const bad of ["SIGNOPE", "usr2", null, undefined, {}]) {
        assert.throws(() => q.requestNotification(any(bad)), TypeError, String(bad));
      }
      for (const bad of [0, 65, 32, 1.5, NaN]) {
        assert.throws(() => q.requestNotification(any(bad)), RangeError, String(bad));
      }
      for (const value of [2 ** 31, -(2 ** 31) - 1, 0.5]) {
        assert.throws(() => q.requestNotification("SIGUSR2", { value }), RangeError);
      }
      assert.throws(() => q.requestNotification("SIGUSR2", { value: any("1") }), TypeError);
      assert.throws(
        () => q.requestNotification("SIGUSR2", any({ valeu: 1 })),
        /unknown option 'valeu'/,
      );
      assert.throws(() => q.requestNotification("SIGUSR2", any(null)), TypeError);
      unasked();
    });
  });

  await t.step("the library's own signals are RangeError", () => {
    for (const reserved of ["SIGRTMAX", "SIGRTMAX-1"] as const) {
      assert.throws(() => q.requestNotification(reserved), /reserved by this library/);
    }
    unasked();
  });

  await t.step("a signal this process would not hear is NotSupported, saying why", () => {
    // No handler, not blocked: its default action would end the process.
    assert.throws(
      () => q.requestNotification("SIGRTMIN+5", { value: 1 }),
      (e: unknown) =>
        e instanceof Deno.errors.NotSupported &&
        /SIGRTMIN\+5 has no handler .* it would end the process/.test(e.message) &&
        /Deno\.addSignalListener/.test(e.message),
    );
    // Deno ignores SIGPIPE: the signal would be lost.
    assert.throws(
      () => q.requestNotification("SIGPIPE"),
      (e: unknown) =>
        e instanceof Deno.errors.NotSupported && /SIGPIPE is ignored .* lost/.test(e.message),
    );
    unasked();
  });
});
