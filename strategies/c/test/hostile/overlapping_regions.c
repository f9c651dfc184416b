/* lockstep-cflags:
 * The exports written by hand, with a descriptor whose book region overlaps the event record. */
#include "lockstep_strategy.h"
static ls_regions regions;
static char area[2048] __attribute__((aligned(8)));
__attribute__((export_name("lockstep_abi_version"))) int32_t abi_version(void) { return 1; }
__attribute__((export_name("lockstep_regions"))) int32_t lockstep_regions(void) {
    uint32_t a = (uint32_t)(uintptr_t)area;
    regions = (ls_regions){LS_ABI_VERSION, a, a + 512, 4, a + 32, a + 1024, 512, 0};
    return (int32_t)(uintptr_t)&regions;
}
__attribute__((export_name("lockstep_init"))) int32_t init(int32_t len) { return len * 0; }
__attribute__((export_name("lockstep_on_event"))) int32_t on_event(void) { return 0; }
