// lockstep-ascflags: -O3 --runtime stub --noAssert --importMemory --zeroFilledMemory --noExportMemory --use abort=lib/lockstep/abort
// Hostile fixture: built without the transform that renames asc's memory import, the module
// imports `env.memory` instead of `lockstep.memory`. The engine must refuse it at load.
import { eventBegin, eventEnd, initBegin, initEnd } from "../../lib/lockstep";
export { lockstep_abi_version, lockstep_regions } from "../../lib/lockstep";

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(true);
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  return status < 0 ? status : eventEnd();
}
