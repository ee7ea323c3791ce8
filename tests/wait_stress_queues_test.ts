/**
 * A randomized stress test of the waiting engine across processes: a parent
 * and 2..4 Deno children exchange over pipes, one System V queue and two
 * POSIX queues, with random pauses, aborts and timeouts (the parked-call
 * source for System V, the fd source for pipes and POSIX queues). Every
 * message a send reported as sent arrives exactly once; every pipe record
 * arrives in order; each child exits by itself (code 0) although it leaves
 * cancelled waits behind.
 *
 * The seed is printed; `STRESS_SEED=<n>` repeats a run's random choices (the
 * timing, and so what a cancellation hits, still differs from run to run).
 * No timing threshold: a wait that never ends is caught by a hang guard,
 * which then reports what each task was waiting for, with the children's
 * stderr. Random delays are stimulus, never a wait for something.
 *
 * The other half, many pipes in one process, is wait_stress_pipes_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type ChildStatus,
  type FdReader,
  MessageQueue,
  type Pipe,
  PosixMessageQueue,
} from "../mod.ts";
import { fdEngine } from "../src/_wait/mod.ts";
import {
  assertReleased,
  fdTarget,
  type Fixture,
  readAllBytes,
  TestScope,
  within,
} from "./_kernel.ts";
import {
  buildMessage,
  buildRecord,
  type Cancel,
  CH,
  type ChildReport,
  isCancellation,
  KIND_END,
  mix32,
  PARENT,
  parseMessage,
  pause,
  randomCancel,
  RecordParser,
  Rng,
  started,
} from "./fixtures/wait_stress_common.ts";
import {
  describeTasks,
  doing,
  errorText,
  explained,
  flow,
  GUARD_MS,
  SEED,
  type Task,
} from "./fixtures/wait_stress_harness.ts";

/** Message sizes: well below msgmax and the POSIX queue's message size. */
const SYSV_CAP = 256;
const POSIX_CAP = 256;
const POSIX_MAX_MESSAGES = 8;

/** Rounds of part 2, each with new children and new queues. */
const ROUNDS = 3;

Deno.test(
  "stress: parent and children over pipes and message queues",
  explained(async () => {
    console.log(`wait stress (processes): STRESS_SEED=${SEED}`);
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`  round ${round}: ${await exchange(mix32(SEED, 2, round))}`);
    }
  }),
);

/** One round: spawns the children, runs every flow, checks everything; returns a summary. */
async function exchange(seed: number): Promise<string> {
  const started0 = performance.now();
  // The scope removes the queues (the tests' own msgctl and mq_unlink) and
  // kills the children even on failure, then checks that none is left.
  await using s = new TestScope();
  const before = fdEngine.pending;
  const rng = new Rng(seed);
  const K = rng.int(2, 4);
  const counts = {
    pipe: rng.int(150, 300),
    sysv: rng.int(150, 300),
    posixDown: rng.int(100, 200) * K,
    posixUp: rng.int(100, 200),
  };
  const tasks: Task[] = [];
  const errors: string[] = [];
  const err = (what: string) => {
    if (errors.length < 20) errors.push(what);
  };

  const sysv = s.sysv(MessageQueue.open("private"));
  const downName = s.posixName();
  const upName = s.posixName();
  const qOptions = {
    create: true,
    exclusive: true,
    maxMessages: POSIX_MAX_MESSAGES,
    messageSize: POSIX_CAP,
  } as const;
  const down = s.handle(PosixMessageQueue.open(downName, { ...qOptions, access: "write" }));
  const up = s.handle(PosixMessageQueue.open(upName, { ...qOptions, access: "read" }));

  interface Kid {
    id: number;
    child: Fixture;
    toChild: Pipe;
    fromChild: FdReader;
    report: FdReader;
  }
  const kids: Kid[] = [];
  /** The pipes of the exchange (the scope has the children's stderr pipes too). */
  const exchanged = new Set<string>();
  for (let id = 0; id < K; id++) {
    const toChild = s.pipe();
    const fromChild = s.pipe();
    const report = s.pipe();
    for (const p of [toChild, fromChild, report]) exchanged.add(fdTarget(p.reader.fd));
    const privateName = s.posixName();
    const child = s.fixture("wait_stress_child.ts", {
      args: [
        String(id),
        String(seed),
        String(K),
        String(sysv.id),
        downName,
        upName,
        privateName,
        JSON.stringify(counts),
      ],
      fds: { 3: toChild.reader, 4: fromChild.writer, 5: report.writer },
    });
    // The child's ends are the child's: end of file comes when it closes them or exits.
    toChild.reader.close();
    fromChild.writer.close();
    report.writer.close();
    kids.push({ id, child, toChild, fromChild: fromChild.reader, report: report.reader });
  }

  const sysvSent = kids.map(() => [] as number[]);
  const sysvGot = kids.map(() => [] as number[]);
  const posixSent: number[] = [];
  const posixGot = kids.map(() => [] as number[]);
  const pipeGot = kids.map((k) => new RecordParser(seed, CH.pipeUp, k.id));
  const reports: ChildReport[] = [];
  const statuses: ChildStatus[] = [];
  let cancels = 0;

  /** A cancellable operation: true if it completed, false if cancelled (as it may be). */
  async function attempt<T>(
    t: Task,
    what: string,
    r: Rng,
    start: (o: Cancel["options"]) => Promise<T>,
    done: (v: T) => void,
  ): Promise<boolean> {
    const c = randomCancel(r);
    doing(t, `${what} (${c.what})`);
    try {
      done(await started(c, start));
      return true;
    } catch (e) {
      if (!isCancellation(c, e)) throw e;
      cancels++;
      return false;
    }
  }

  const flows: Promise<void>[] = [];
  for (const k of kids) {
    const r = (n: number) => new Rng(seed, PARENT, k.id, n);
    flows.push(flow(tasks, `pipe to child ${k.id}`, async (t) => {
      const rr = r(1);
      for (let seq = 0; seq < counts.pipe; seq++) {
        doing(t, `write record ${seq}`);
        await k.toChild.writer.write(buildRecord(seed, CH.pipeDown, k.id, seq));
        await pause(rr);
      }
      k.toChild.writer.close();
    }));
    flows.push(flow(tasks, `pipe from child ${k.id}`, async (t) => {
      const rr = r(2);
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const size = rr.size(1, buf.length);
        let n: number | null | undefined;
        const ok = await attempt(
          t,
          `read ${size} B`,
          rr,
          (o) => k.fromChild.read(buf.subarray(0, size), o),
          (v) => n = v,
        );
        if (!ok) continue;
        if (n === null) break;
        pipeGot[k.id].push(buf.subarray(0, n!));
        await pause(rr, 0.2);
      }
      k.fromChild.close();
    }));
    flows.push(flow(tasks, `System V to child ${k.id}`, async (t) => {
      const rr = r(3);
      for (let seq = 0; seq < counts.sysv; seq++) {
        const msg = buildMessage(seed, CH.sysvDown, k.id, seq, SYSV_CAP);
        const ok = await attempt(
          t,
          `send ${seq}`,
          rr,
          (o) => sysv.send(msg, { ...o, type: 100 + k.id }),
          () => {},
        );
        if (ok) sysvSent[k.id].push(seq);
        await pause(rr);
      }
      doing(t, "send the end");
      await sysv.send(buildMessage(seed, CH.sysvDown, k.id, 0, SYSV_CAP, KIND_END), {
        type: 100 + k.id,
      });
    }));
    flows.push(flow(tasks, `report of child ${k.id}`, async (t) => {
      doing(t, "read the report to its end");
      const bytes = await readAllBytes(k.report, GUARD_MS);
      k.report.close();
      try {
        reports[k.id] = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        err(
          `child ${k.id}: unreadable report ${JSON.stringify(new TextDecoder().decode(bytes))}`,
        );
      }
      // Its work is done: now it must exit by itself, its cancelled waits notwithstanding.
      doing(t, "wait for the child to exit by itself (its work is done)");
      statuses[k.id] = await k.child.child.status;
    }));
  }
  flows.push(flow(tasks, "System V from the children", async (t) => {
    const rr = new Rng(seed, PARENT, 10);
    let ends = 0;
    while (ends < K) {
      await attempt(
        t,
        `receive (ends ${ends}/${K})`,
        rr,
        (o) => sysv.receive({ ...o, type: -99 }),
        (m) => {
          try {
            const { kind, sender, seq } = parseMessage(seed, CH.sysvUp, m.data, SYSV_CAP);
            if (sender >= K || m.type !== sender + 1) {
              err(`System V: sender ${sender} with type ${m.type}`);
            } else if (kind === KIND_END) ends++;
            else sysvGot[sender].push(seq);
          } catch (e) {
            err(`System V from children: ${errorText(e)}`);
          }
        },
      );
      await pause(rr);
    }
  }));
  flows.push(flow(tasks, "POSIX to the children", async (t) => {
    const rr = new Rng(seed, PARENT, 11);
    for (let seq = 0; seq < counts.posixDown; seq++) {
      const msg = buildMessage(seed, CH.posixDown, PARENT, seq, POSIX_CAP);
      const priority = rr.int(1, 9);
      const ok = await attempt(
        t,
        `send ${seq}`,
        rr,
        (o) => down.send(msg, { ...o, priority }),
        () => {},
      );
      if (ok) posixSent.push(seq);
      await pause(rr);
    }
    // Priority 0 comes after every data message already in the queue: one end per child.
    for (let i = 0; i < K; i++) {
      doing(t, `send end ${i}`);
      await down.send(buildMessage(seed, CH.posixDown, PARENT, i, POSIX_CAP, KIND_END), {
        priority: 0,
      });
    }
  }));
  flows.push(flow(tasks, "POSIX from the children", async (t) => {
    const rr = new Rng(seed, PARENT, 12);
    let ends = 0;
    while (ends < K) {
      await attempt(t, `receive (ends ${ends}/${K})`, rr, (o) => up.receive(o), (m) => {
        try {
          const { kind, sender, seq } = parseMessage(seed, CH.posixUp, m.data, POSIX_CAP);
          if (sender >= K) err(`POSIX: sender ${sender}`);
          else if (kind === KIND_END) ends++;
          else posixGot[sender].push(seq);
        } catch (e) {
          err(`POSIX from children: ${errorText(e)}`);
        }
      });
      await pause(rr);
    }
  }));

  try {
    await within(Promise.all(flows), `the exchange with ${K} children`, GUARD_MS);
  } catch (e) {
    const children = kids.map((k) =>
      `  child ${k.id} (pid ${k.child.pid}): ${
        statuses[k.id] === undefined ? "not ended" : JSON.stringify(statuses[k.id])
      }, ${
        reports[k.id] === undefined
          ? "no report yet"
          : `report errors ${JSON.stringify(reports[k.id].errors)}`
      }`
    );
    throw s.explain(
      new Error(
        `${(e as Error).message} (seed ${SEED}); errors ${JSON.stringify(errors)}\n${
          children.join("\n")
        }\nstuck:\n${describeTasks(tasks)}`,
      ),
    );
  }

  // Any failure below shows the stderr of every child.
  await s.check(() => {
    // Every child exited by itself, with code 0.
    for (const k of kids) {
      assert.deepEqual(statuses[k.id], { success: true, code: 0, signal: null }, `child ${k.id}`);
    }
    assert.deepEqual(errors, [], `seed ${SEED}`);
    for (const k of kids) {
      const rep = reports[k.id];
      assert.ok(rep !== undefined, `child ${k.id}: no report`);
      const at = `child ${k.id} (seed ${SEED})`;
      assert.deepEqual(rep.errors, [], at);
      assert.equal(rep.pendingAtEnd, 0, `${at}: waits left in the child's engine`);
      // Pipes: every record, in order, nothing more.
      assert.deepEqual(
        rep.pipeIn,
        { records: counts.pipe, partial: 0 },
        `${at}: pipe from the parent`,
      );
      const up = pipeGot[k.id];
      assert.deepEqual(
        { records: up.records, partial: up.partial, error: up.error },
        { records: rep.pipeOutSent, partial: 0, error: undefined },
        `${at}: pipe to the parent`,
      );
      // System V: each type is FIFO and has one receiver: exactly the sent ones, in order.
      assert.deepEqual(rep.sysvIn, sysvSent[k.id], `${at}: System V from the parent`);
      assert.deepEqual(sysvGot[k.id], rep.sysvOutSent, `${at}: System V to the parent`);
      // POSIX up: exactly the sent ones (priorities reorder them).
      assert.deepEqual(
        [...posixGot[k.id]].sort((a, b) => a - b),
        rep.posixOutSent,
        `${at}: POSIX up`,
      );
    }
    // POSIX down: the children compete; together they got each sent message exactly once.
    const got = kids.flatMap((k) => reports[k.id].posixIn).sort((a, b) => a - b);
    assert.deepEqual(got, posixSent, `seed ${SEED}: POSIX down, all children together`);

    assert.equal(fdEngine.pending, before, "waits left in the engine");
    for (const k of kids) {
      assert.ok(k.toChild.writer.closed && k.fromChild.closed && k.report.closed);
    }
    assertReleased(exchanged, kids.map((k) => k.child.pid));
  });
  sysv.remove();
  up.close();
  down.close();
  for (const name of [downName, upName]) PosixMessageQueue.unlink(name);

  const cancelledInChildren = reports.reduce(
    (sum, r) => sum + Object.values(r.cancelled).reduce((a, b) => a + b, 0),
    0,
  );
  return (
    `${K} children; per child ${counts.pipe} records each way, ${counts.sysv} System V down ` +
    `(${sysvSent.map((x) => x.length).join("/")} sent), ${counts.posixUp} POSIX up; ` +
    `${posixSent.length}/${counts.posixDown} POSIX down sent; cancelled: ${cancels} in the parent, ` +
    `${cancelledInChildren} in the children; ${(performance.now() - started0).toFixed(0)} ms`
  );
}
