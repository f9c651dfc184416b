// lockstep-ascflags: -O3 --runtime stub --noAssert --importMemory --zeroFilledMemory --noExportMemory --use abort=lib/lockstep/abort --transform ./lib/memory-import.mjs --enable threads --sharedMemory --maximumMemory 16
// Hostile fixture: a shared memory and atomics (threads), which Lockstep refuses: a strategy is
// one thread, and its memory is its own. The engine must refuse it at load.
import { event, eventBegin, eventEnd, initBegin, initEnd } from "../../lib/lockstep";
export { lockstep_abi_version, lockstep_regions } from "../../lib/lockstep";

const COUNTER: usize = memory.data(8, 8);

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(true);
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  if (status < 0) return status;
  atomic.add<i64>(COUNTER, event.p0);
  return eventEnd();
}
