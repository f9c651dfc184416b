/* lockstep-cflags:
 * The exports written by hand, with a descriptor whose action region lies past the end of the
 * initial memory. */
#include "lockstep_strategy.h"
static ls_regions regions;
static char area[1024];
__attribute__((export_name("lockstep_abi_version"))) int32_t abi_version(void) { return 1; }
__attribute__((export_name("lockstep_regions"))) int32_t lockstep_regions(void) {
    regions = (ls_regions){LS_ABI_VERSION, (uint32_t)(uintptr_t)area, 0x7fffff00u, 4,
                           (uint32_t)(uintptr_t)area + 64, (uint32_t)(uintptr_t)area + 392, 512, 0};
    return (int32_t)(uintptr_t)&regions;
}
__attribute__((export_name("lockstep_init"))) int32_t init(int32_t len) { return len * 0; }
__attribute__((export_name("lockstep_on_event"))) int32_t on_event(void) { return 0; }
