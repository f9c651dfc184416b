//! The crate's one `unsafe` module: the time-stamp counter and the handful of OS calls a
//! jitter meter needs (`sched_getcpu`, `getrlimit`, `mlockall`, `pthread_setschedparam`).
#![allow(unsafe_code, reason = "the crate's one unsafe module: rdtsc and the OS calls it needs")]

/// Reads the CPU's time-stamp counter (`rdtsc`), or `None` on targets without one.
///
/// Not serialising: it may be reordered with neighbouring loads, which is what a spin loop
/// wants (the cheapest possible read). Use [`tsc_ordered`] around code being timed.
#[inline(always)]
pub(crate) fn tsc() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` reads a register; it has no memory effects and every x86_64 CPU has it.
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Reads the time-stamp counter after all earlier instructions have completed (`lfence; rdtsc`),
/// so a timed region cannot leak out of the measurement; `None` without a TSC.
#[inline(always)]
pub(crate) fn tsc_ordered() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `lfence` and `rdtsc` only order and read; SSE2 (lfence) is part of x86_64.
        Some(unsafe {
            core::arch::x86_64::_mm_lfence();
            core::arch::x86_64::_rdtsc()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The CPU the calling thread is running on now, from `sched_getcpu(3)`.
pub(crate) fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments and has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// A resource limit: soft and hard values, `None` meaning unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limit {
    /// The limit in force.
    pub(crate) soft: Option<u64>,
    /// The ceiling an unprivileged process may raise the soft limit to.
    pub(crate) hard: Option<u64>,
}

fn getrlimit(resource: libc::__rlimit_resource_t) -> Option<Limit> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid, writable rlimit for the duration of the call.
    let rc = unsafe { libc::getrlimit(resource, &mut r) };
    let conv = |v: libc::rlim_t| (v != libc::RLIM_INFINITY).then_some(v);
    (rc == 0).then(|| Limit { soft: conv(r.rlim_cur), hard: conv(r.rlim_max) })
}

/// `RLIMIT_MEMLOCK`: how many bytes this process may lock in RAM.
pub(crate) fn memlock_limit() -> Option<Limit> {
    getrlimit(libc::RLIMIT_MEMLOCK)
}

/// `RLIMIT_RTPRIO`: the highest real-time priority an unprivileged process may ask for.
pub(crate) fn rtprio_limit() -> Option<Limit> {
    getrlimit(libc::RLIMIT_RTPRIO)
}

/// The highest `SCHED_FIFO` priority this kernel defines (99 on Linux), if any.
pub(crate) fn fifo_max_priority() -> Option<i32> {
    // SAFETY: plain query with an integer argument.
    let p = unsafe { libc::sched_get_priority_max(libc::SCHED_FIFO) };
    (p >= 0).then_some(p)
}

/// Tries to switch the calling thread to `SCHED_FIFO` at priority 1.
///
/// Call it only on a throwaway thread that exits right after: it changes how that thread is
/// scheduled.
///
/// # Errors
/// The OS error (typically `EPERM`: no CAP_SYS_NICE and RLIMIT_RTPRIO is 0).
pub(crate) fn try_sched_fifo_on_this_thread() -> Result<(), std::io::Error> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: `pthread_self()` is the live calling thread and `param` outlives the call.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::from_raw_os_error(rc)) }
}

/// Locks the pages the process has now in RAM (`mlockall(MCL_CURRENT)`), so swapping cannot
/// stall the measurement. Call it after preallocating. Not `MCL_FUTURE`: with a small
/// RLIMIT_MEMLOCK that would make later allocations fail.
///
/// # Errors
/// The OS error, e.g. when RLIMIT_MEMLOCK is too low or CAP_IPC_LOCK is missing.
pub(crate) fn lock_all_memory() -> Result<(), std::io::Error> {
    // SAFETY: mlockall takes flags only and has no memory-safety preconditions.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cpu_are_readable() {
        assert!(memlock_limit().is_some());
        assert!(rtprio_limit().is_some());
        assert!(current_cpu().is_some());
        assert_eq!(fifo_max_priority(), Some(99));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn tsc_advances() {
        let a = tsc().unwrap();
        let b = tsc_ordered().unwrap();
        assert!(b > a);
    }
}
