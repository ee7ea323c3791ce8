/**
 * Many processes over ONE System V queue: 4 producers × 20 000 messages (5 000
 * under emulation, where 20 000 take minutes) of random types and sizes, 4
 * consumers, sync and async forms mixed, FIFO and priority receivers mixed.
 * Every consumer reports each message it took (and whether it was intact) on
 * a shared pipe; the parent checks that every message arrived exactly once
 * and uncorrupted, also when a consumer is killed with SIGKILL in the middle
 * of the run.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  EMULATED,
  type Fixture,
  procSysInt,
  sysvQueue,
  TestScope,
  until,
  within,
} from "./_kernel.ts";
import { HEADER, RECORD, STOP_TYPE } from "./fixtures/msg_queue_load.ts";

const PRODUCERS = 4;
const CONSUMERS = 4;
const PER_PRODUCER = EMULATED ? 5_000 : 20_000;
/** The largest message, header included (kept well below msgmax and the queue's capacity). */
const MAX_MESSAGE = 1024;
/** The consumer killed in the second scenario, once it has reported this many messages. */
const VICTIM = 0;
const KILL_AFTER = 2_000;
const GUARD_MS = 240_000;

interface Outcome {
  /** How often each message was reported, by producer then sequence number. */
  seen: Uint8Array[];
  corrupt: string[];
  /** Reports per consumer. */
  perConsumer: number[];
  victimStatus?: { signal: string | null };
}

async function run(killOne: boolean): Promise<Outcome> {
  await using s = new TestScope();
  const q = s.messageQueue("private");
  const seed = crypto.getRandomValues(new Uint32Array(1))[0];
  const { maxBytes } = q.stat();
  const msgmax = procSysInt("kernel/msgmax");
  // Several of the largest messages fit at once, so every producer makes progress.
  const cap = Math.min(MAX_MESSAGE, msgmax, Math.floor(maxBytes / 8));
  assert.ok(cap > HEADER + 1, `queue too small: ${maxBytes} bytes`);

  const reports = s.pipe();
  const consumers: Fixture[] = [];
  for (let c = 0; c < CONSUMERS; c++) {
    const form = c % 2 === 0 ? "sync" : "async";
    const select = c < CONSUMERS / 2 ? "fifo" : "priority";
    consumers.push(s.fixture("msg_queue_load.ts", {
      args: ["consumer", `${c}`, `${q.id}`, `${cap}`, `${seed}`, form, select],
      fds: { 3: reports.writer },
    }));
  }
  reports.writer.close();
  const producers: Fixture[] = [];
  for (let p = 0; p < PRODUCERS; p++) {
    const form = p % 2 === 0 ? "async" : "sync";
    producers.push(s.fixture("msg_queue_load.ts", {
      args: ["producer", `${p}`, `${q.id}`, `${PER_PRODUCER}`, `${cap}`, `${seed}`, form],
    }));
  }

  const outcome: Outcome = {
    seen: Array.from({ length: PRODUCERS }, () => new Uint8Array(PER_PRODUCER)),
    corrupt: [],
    perConsumer: new Array(CONSUMERS).fill(0),
  };
  let killed = false;
  const collect = async () => {
    const buf = new Uint8Array(64 * 1024);
    const view = new DataView(buf.buffer);
    let have = 0;
    for (;;) {
      const n = await reports.reader.read(buf.subarray(have));
      if (n === null) break;
      have += n;
      const whole = have - have % RECORD;
      for (let at = 0; at < whole; at += RECORD) {
        const consumer = view.getUint8(at);
        const ok = view.getUint8(at + 1) === 1;
        const producer = view.getUint16(at + 2, true);
        const seq = view.getUint32(at + 4, true);
        outcome.perConsumer[consumer]++;
        if (!ok || producer >= PRODUCERS || seq >= PER_PRODUCER) {
          outcome.corrupt.push(`consumer ${consumer}: producer ${producer} seq ${seq}`);
        } else {
          outcome.seen[producer][seq]++;
        }
      }
      buf.copyWithin(0, whole, have);
      have -= whole;
      if (killOne && !killed && outcome.perConsumer[VICTIM] >= KILL_AFTER) {
        consumers[VICTIM].child.kill("SIGKILL");
        killed = true;
      }
    }
    assert.equal(have, 0, "a partial record");
  };
  const collecting = collect();
  collecting.catch(() => {}); // awaited below; a failure meanwhile must not be "unhandled"

  // Any failure below shows the stderr of every child.
  await s.check(async () => {
    for (const p of producers) {
      const status = await within(p.child.status, p.label, GUARD_MS);
      assert.equal(status.code, 0, `${p.label} failed`);
    }
    assert.equal(killed, killOne, "the victim was killed while the producers ran");
    // Every message is taken (maybe not yet reported): now each live consumer gets a stop.
    await until(() => sysvQueue(q.id).messages === 0, "the queue to drain", GUARD_MS);
    const live = consumers.filter((_, c) => !(killOne && c === VICTIM));
    for (const _ of live) q.sendSync(new Uint8Array(0), { type: STOP_TYPE });
    for (const [c, child] of consumers.entries()) {
      const status = await within(child.child.status, child.label, GUARD_MS);
      if (killOne && c === VICTIM) outcome.victimStatus = status;
      else assert.equal(status.code, 0, `consumer ${c} failed`);
    }
    await within(collecting, "the reports to end", GUARD_MS);
    assert.equal(sysvQueue(q.id).messages, 0);
  });
  return outcome;
}

/** The messages reported more than once and the ones never reported. */
function tally(outcome: Outcome): { duplicates: string[]; missing: string[] } {
  const duplicates: string[] = [];
  const missing: string[] = [];
  outcome.seen.forEach((counts, p) =>
    counts.forEach((n, seq) => {
      if (n > 1) duplicates.push(`producer ${p} seq ${seq} × ${n}`);
      if (n === 0) missing.push(`producer ${p} seq ${seq}`);
    })
  );
  return { duplicates, missing };
}

Deno.test(`MessageQueue: ${PRODUCERS} producers × ${CONSUMERS} consumers × ${PER_PRODUCER} messages over one queue, nothing lost`, async (t) => {
  await t.step("every message arrives exactly once and intact", async () => {
    const outcome = await run(false);
    const { duplicates, missing } = tally(outcome);
    assert.deepEqual(outcome.corrupt, []);
    assert.deepEqual(duplicates, []);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} missing`);
    // Every consumer took part.
    for (const [c, n] of outcome.perConsumer.entries()) assert.ok(n > 0, `consumer ${c} got none`);
  });

  await t.step(
    "a consumer killed by SIGKILL loses at most the one message it had not reported",
    async () => {
      const outcome = await run(true);
      const { duplicates, missing } = tally(outcome);
      assert.equal(outcome.victimStatus?.signal, "SIGKILL");
      assert.ok(outcome.perConsumer[VICTIM] >= KILL_AFTER);
      assert.deepEqual(outcome.corrupt, []);
      assert.deepEqual(duplicates, []);
      assert.ok(
        missing.length <= 1,
        `missing: ${missing.slice(0, 10).join(", ")} (${missing.length})`,
      );
    },
  );
});
