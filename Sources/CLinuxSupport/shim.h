// Linux calls Swift's Glibc module does not expose: thread names, per-thread scheduling
// priority and malloc tuning.
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

// Names the calling thread as `top -H`, `perf` and /proc/PID/task/TID/comm show it (at most 15
// bytes are kept). Foundation's Thread.name does not reach the kernel on Linux.
static inline int mmc_name_current_thread(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

// Sets the calling thread's nice value (Linux keeps one per thread; -20 highest, 19 lowest).
static inline int mmc_set_current_thread_niceness(int niceness) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), niceness);
}

// Makes glibc keep freed memory instead of returning it to the kernel: blocks below
// `mmap_threshold` bytes come from the heap, a heap is trimmed only when more than
// `trim_threshold` bytes are free at its top, and at most `arenas` heaps (arenas) exist, so
// that what is kept is bounded. Returns 1 on success.
static inline int mmc_keep_freed_memory(int mmap_threshold, int trim_threshold, int arenas) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold)
        && mallopt(M_ARENA_MAX, arenas);
}

// Fixes glibc's mapping threshold at `threshold` bytes: larger blocks are mapped and unmapped
// when freed, whatever was freed before (glibc otherwise raises the threshold past its first
// free of a mapped block, after which such blocks stay in its heaps). Returns 1 on success.
static inline int mmc_map_large_blocks(int threshold) {
    return mallopt(M_MMAP_THRESHOLD, threshold);
}
