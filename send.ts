import { PosixMessageQueue } from "/tmp/rev1/mod.ts";
const q = PosixMessageQueue.open(Deno.args[0]);
q.trySend(Deno.args[1] ?? "hi");
