// An asc transform: the Lockstep ABI imports the guest's memory as `lockstep.memory`, while
// asc's --importMemory names it `env.memory`. After compiling, this renames the import of the
// module's one memory (Binaryen's internal name "0"); nothing else in the module changes.
import { Transform } from "assemblyscript/transform";

export default class LockstepMemoryImport extends Transform {
  afterCompile(module) {
    module.addMemoryImport("0", "lockstep", "memory", false);
  }
}
