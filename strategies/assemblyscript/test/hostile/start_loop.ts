// lockstep-ascflags: -O3 --runtime stub --noAssert --importMemory --zeroFilledMemory --noExportMemory --use abort=lib/lockstep/abort --transform ./lib/memory-import.mjs
// Hostile fixture: top-level code that never ends. asc runs top-level code from the module's
// start function, which the engine runs at instantiation under the init fuel budget: the load
// must end with that budget exhausted, not hang.
import { eventBegin, eventEnd, initBegin, initEnd } from "../../lib/lockstep";
export { lockstep_abi_version, lockstep_regions } from "../../lib/lockstep";

let spins: u64 = 0;
while (spins != u64.MAX_VALUE) spins = spins * 3 + 1;

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(true);
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  return status < 0 ? status : eventEnd();
}
