// lockstep-ascflags: -O3 --runtime stub --importMemory --zeroFilledMemory --noExportMemory --transform ./lib/memory-import.mjs
// Hostile fixture: built without `--use abort=lib/lockstep/abort`, asc's assertions import
// `env.abort`, which Lockstep does not provide. The engine must refuse it at load.
import { eventBegin, eventEnd, initBegin, initEnd, event } from "../../lib/lockstep";
export { lockstep_abi_version, lockstep_regions } from "../../lib/lockstep";

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(true);
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  if (status < 0) return status;
  assert(event.seq > 0, "events are numbered from 1");
  return eventEnd();
}
