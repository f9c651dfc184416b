// lockstep-ascflags: -O3 --runtime stub --noAssert --importMemory --zeroFilledMemory --noExportMemory --use abort=lib/lockstep/abort --transform ./lib/memory-import.mjs --enable simd
// Hostile fixture: 128-bit SIMD, which neither engine tier enables (its lanes would be a second
// way to compute the same value). The engine must refuse it at load.
import { event, eventBegin, eventEnd, initBegin, initEnd, signal } from "../../lib/lockstep";
export { lockstep_abi_version, lockstep_regions } from "../../lib/lockstep";

export function lockstep_init(len: i32): i32 {
  initBegin(len);
  return initEnd(true);
}

export function lockstep_on_event(): i32 {
  const status = eventBegin();
  if (status < 0) return status;
  const v = i64x2.add(i64x2.splat(event.p0), i64x2.splat(event.p1));
  signal(event.instrument, 1, i64x2.extract_lane(v, 0));
  return eventEnd();
}
