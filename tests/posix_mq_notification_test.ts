// PosixMessageQueue.requestNotification / cancelNotification (mq_notify(3)):
// what the kernel records (the queue's file under /dev/mqueue, read by a
// child), the signal this process hears, when the request ends, and what is
// refused before the call.
// The signal sent to another process with its value: signal_test.ts.
import assert from "node:assert/strict";
import { PosixMessageQueue } from "../mod.ts";
import {
  CANNOT,
  MOD_URL,
  posixQueueNotifier,
  systemError,
  TestScope,
  unless,
  within,
} from "./_kernel.ts";

/** A queue of this scope, open for reading and writing. */
function queue(s: TestScope): { q: PosixMessageQueue; name: string } {
  const name = s.posixName();
  return { q: s.handle(PosixMessageQueue.open(name, { create: true, messageSize: 32 })), name };
}

/** Runs `body` with a timer pending: a signal listener keeps nothing alive while it waits. */
async function alive<T>(body: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  try {
    return await body();
  } finally {
    clearInterval(timer);
  }
}

/** A listener that counts its calls and resolves `next()` at the next one. */
function counter(): { count: number; next(): Promise<void>; listener: () => void } {
  let wake: (() => void) | undefined;
  const c = {
    count: 0,
    next: () => new Promise<void>((resolve) => wake = resolve),
    listener: () => {
      c.count++;
      wake?.();
    },
  };
  return c;
}

/**
 * The signal of this file's requests: one no other test or doc example of the
 * suite uses, as they may run in this process too (\`deno test --parallel\`) and
 * a signal reaches every listener of the process.
 */
const SIGNAL = "SIGURG";
const SIGNAL_NUMBER = 23;
const none = () => {};

Deno.test("requestNotification: the kernel's record of it, and when it ends", async (t) => {
  await t.step(
    unless(CANNOT.mqNotify ?? CANNOT.mqueueFs, "asked, cancelled, asked again", async () => {
      await using s = new TestScope();
      const { q, name } = queue(s);
      assert.equal(await posixQueueNotifier(name), null);
      q.requestNotification(SIGNAL, { value: 5, listener: none });
      assert.deepEqual(await posixQueueNotifier(name), { pid: Deno.pid, signal: SIGNAL_NUMBER });
      q.cancelNotification();
      assert.equal(await posixQueueNotifier(name), null);
      q.cancelNotification(); // none to end: nothing
      q.requestNotification(SIGNAL_NUMBER, { listener: none });
      assert.deepEqual(await posixQueueNotifier(name), { pid: Deno.pid, signal: SIGNAL_NUMBER });
    }),
  );

  await t.step(
    unless(
      CANNOT.mqNotify,
      "a second request, this process's own too, is Busy; the one that stands keeps its listener",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        const first = counter();
        const second = counter();
        q.requestNotification(SIGNAL, { listener: first.listener });
        assert.throws(
          () => q.requestNotification(SIGNAL, { value: 1, listener: second.listener }),
          systemError(Deno.errors.Busy, "EBUSY", "mq_notify", { path: name, fd: q.fd }),
        );
        assert.throws(
          () => q.requestNotification(SIGNAL, { listener: second.listener }),
          /asked for notification already/,
        );
        await alive(async () => {
          const heard = first.next();
          q.trySend("wake");
          await heard;
        });
        assert.deepEqual([first.count, second.count], [1, 0]);
      },
    ),
  );

  await t.step(
    unless(
      CANNOT.mqNotify,
      "the signal comes once: a message to the empty queue ends the request, asked again with the same listener",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        const heard = counter();
        await alive(async () => {
          q.requestNotification(SIGNAL, { value: 3, listener: heard.listener });
          const next = heard.next();
          q.trySend("first");
          await next;
          assert.equal(heard.count, 1);
          if (CANNOT.mqueueFs === undefined) assert.equal(await posixQueueNotifier(name), null);
          // Ended, so it may be asked again: the next message to the empty queue signals again.
          assert.equal(new TextDecoder().decode(q.tryReceive().data), "first");
          q.requestNotification(SIGNAL, { listener: heard.listener });
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
      CANNOT.mqNotify ?? CANNOT.mqueueFs,
      "closing any descriptor of the queue ends it, as the kernel has it",
      async () => {
        await using s = new TestScope();
        const { q, name } = queue(s);
        q.requestNotification(SIGNAL, { listener: none });
        PosixMessageQueue.open(name).close(); // another handle of the same queue
        assert.equal(await posixQueueNotifier(name), null);
        q.requestNotification(SIGNAL, { listener: none });
        assert.deepEqual(await posixQueueNotifier(name), { pid: Deno.pid, signal: SIGNAL_NUMBER });
        q.close();
        assert.equal(await posixQueueNotifier(name), null);
        // Closed, it says so before any call.
        assert.throws(
          () => q.requestNotification(SIGNAL, { listener: none }),
          systemError(Deno.errors.BadResource, "EBADF", "mq_notify"),
        );
        assert.throws(
          () => q.cancelNotification(),
          systemError(Deno.errors.BadResource, "EBADF", "mq_notify"),
        );
      },
    ),
  );
});

Deno.test(
  unless(
    CANNOT.mqNotify,
    "requestNotification listeners: the process lives on, each heard",
    async (t) => {
      await t.step("a signal that comes as the request ends does not end the process", async () => {
        await using s = new TestScope();
        // Deno ends a process whose signal comes as its last listener is removed: each of these
        // ends a request right after the message that signals it, many times over.
        for (let i = 0; i < 30; i++) {
          const { q } = queue(s);
          q.requestNotification(SIGNAL, { listener: none });
          q.trySend("x");
          if (i % 2 === 0) q.cancelNotification();
          else q.close();
        }
        // Alive here; a signal still on its way is taken by the library's listener.
        const { q } = queue(s);
        const last = counter();
        await alive(async () => {
          q.requestNotification(SIGNAL, { listener: last.listener });
          const heard = last.next();
          q.trySend("x");
          await heard;
        });
      });

      await t.step(
        "a listener that throws is reported; the other requests' listeners are called",
        async () => {
          await using s = new TestScope();
          const reported: unknown[] = [];
          const onError = (e: ErrorEvent) => {
            e.preventDefault();
            reported.push(e.error);
          };
          globalThis.addEventListener("error", onError);
          try {
            const a = queue(s).q;
            const b = queue(s).q;
            const boom = new Error("boom");
            // A signal of its own: those the step before raised may still be on their way, and
            // would be heard here too.
            const OWN = "SIGVTALRM";
            a.requestNotification(OWN, {
              listener: () => {
                throw boom;
              },
            });
            const heard = counter();
            b.requestNotification(OWN, { listener: heard.listener });
            await alive(async () => {
              for (let round = 1; round <= 2; round++) {
                const next = heard.next();
                a.trySend("x"); // a's signal: both listeners are called, as both hear it
                await next;
                assert.equal(heard.count, round);
                a.tryReceive();
                a.requestNotification(OWN, {
                  listener: () => {
                    throw boom;
                  },
                });
              }
            });
            assert.deepEqual(reported, [boom, boom]);
          } finally {
            globalThis.removeEventListener("error", onError);
          }
        },
      );
    },
  ),
);

Deno.test("requestNotification with a listener is refused in a Worker, which would take it along", async () => {
  await using s = new TestScope();
  const { name } = queue(s);
  const code = `import { PosixMessageQueue } from ${JSON.stringify(MOD_URL)};
    using q = PosixMessageQueue.open(${JSON.stringify(name)});
    try {
      q.requestNotification("SIGUSR2", { listener: () => {} });
      postMessage("asked");
    } catch (e) {
      postMessage(e.name + ": " + e.message);
    }`;
  const worker = new Worker(`data:text/javascript,${encodeURIComponent(code)}`, { type: "module" });
  try {
    const said = await within(
      new Promise<string>((resolve) => worker.onmessage = (e) => resolve(e.data)),
      "the Worker's answer",
    );
    assert.match(said, /^NotSupported: .*in a Worker/);
  } finally {
    worker.terminate();
  }
  if (CANNOT.mqueueFs === undefined) assert.equal(await posixQueueNotifier(name), null);
});

Deno.test("requestNotification refuses before any call what cannot work", async (t) => {
  await using s = new TestScope();
  const { q, name } = queue(s);
  const unasked = async () => {
    if (CANNOT.mqueueFs === undefined) assert.equal(await posixQueueNotifier(name), null);
  };
  const any = (x: unknown) => x as never;
  const refused = (Class: new (...a: never[]) => Error, pattern: RegExp) => (e: unknown) =>
    e instanceof Class && pattern.test(e.message);

  await t.step("bad signals, values and listeners: TypeError and RangeError", async () => {
    for (const bad of ["SIGNOPE", "usr2", null, undefined, {}]) {
      assert.throws(() => q.requestNotification(any(bad), { listener: none }), TypeError);
    }
    for (const bad of [0, 65, 32, 1.5, NaN]) {
      assert.throws(() => q.requestNotification(any(bad), { listener: none }), RangeError);
    }
    for (const value of [2 ** 31, -(2 ** 31) - 1, 0.5]) {
      assert.throws(() => q.requestNotification("SIGUSR2", { value, listener: none }), RangeError);
    }
    const usr2 = (options: unknown) => () => q.requestNotification("SIGUSR2", any(options));
    assert.throws(usr2({ value: "1", listener: none }), TypeError);
    assert.throws(usr2({ valeu: 1, listener: none }), /unknown option 'valeu'/);
    assert.throws(usr2(null), TypeError);
    assert.throws(usr2({ listener: "f" }), /listener must be a function/);
    // What Deno.addSignalListener does not take: said before Deno would.
    for (const unlistenable of ["SIGRTMIN+5", "SIGSEGV"] as const) {
      assert.throws(
        () => q.requestNotification(unlistenable, { listener: none }),
        refused(TypeError, /Deno\.addSignalListener does not take it: block it .*signals\(\)/),
      );
    }
    await unasked();
  });

  await t.step("the library's own signals, SIGKILL and SIGSTOP are RangeError", async () => {
    for (const reserved of ["SIGRTMAX", "SIGRTMAX-1"] as const) {
      assert.throws(() => q.requestNotification(reserved), /reserved by this library/);
    }
    for (const uncaught of ["SIGKILL", "SIGSTOP"] as const) {
      assert.throws(
        () => q.requestNotification(uncaught, { listener: none }),
        refused(RangeError, /cannot be caught or blocked/),
      );
    }
    await unasked();
  });

  await t.step(
    "a signal heard neither by a listener nor a reader is NotSupported, saying why",
    async () => {
      const cases: [string, RegExp][] = [
        ["SIGUSR2", /would end the process .*options\.listener.*signals\(\)/],
        ["SIGRTMIN+5", /would end the process .*does not take it: block it/],
        ["SIGTSTP", /would stop the process/],
        ["SIGURG", /would be lost \(its default action\)/],
        ["SIGPIPE", /would be lost \(it is ignored here\)/], // Deno ignores SIGPIPE
        // Deno opens its inspector at SIGUSR1, listener or not.
        ["SIGUSR1", /inspector/],
      ];
      for (const [signal, why] of cases) {
        assert.throws(
          () => q.requestNotification(signal as "SIGUSR2"),
          refused(Deno.errors.NotSupported, why),
          signal,
        );
      }
      assert.throws(
        () => q.requestNotification("SIGUSR1", { listener: none }),
        refused(Deno.errors.NotSupported, /inspector/),
      );
      // A listener kept for them would take away what a user's Ctrl-C or a supervisor's stop does.
      const ends = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;
      const stopping = ["SIGTSTP", "SIGTTIN", "SIGTTOU"] as const;
      for (const ending of [...ends, ...stopping]) {
        assert.throws(
          () => q.requestNotification(ending, { listener: none }),
          refused(Deno.errors.NotSupported, /user's or supervisor's word/),
          ending,
        );
      }
      await unasked();
    },
  );
});
