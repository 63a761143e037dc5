// A small thread pool for the kernels' parallel sections (pops_parallel_for).
//
// Why not Dispatch: an update of a small network has a dozen parallel
// sections of 10-50 us each, and waking a sleeping thread costs about as much
// on a VM. Workers here spin for a short while (POOL_SPIN_NS) after each job
// before they sleep, so back-to-back sections find them awake.
//
// Why it is safe when the cores are busy with other work: tasks are claimed
// one index at a time from a shared ticket, and the caller claims too. A
// worker that is descheduled or asleep simply claims nothing; the caller runs
// the remaining indices itself and only ever waits for indices a worker has
// actually started. No index waits on a thread that is not running.
#include "pops_kernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define POOL_MAX_WORKERS 63
#define POOL_SPIN_NS 50000L  // 50 us: longer than the gaps inside an update
// The ticket packs the job's generation, its index count and the next index
// to claim, so a worker can never claim an index of a job that has ended.
#define COUNT_BITS 20
#define INDEX_BITS 20
#define MAX_COUNT ((1L << COUNT_BITS) - 1)

static _Atomic uint64_t ticket;  // generation:24 | count:20 | next:20
static _Atomic long done;        // indices finished in the current job
static pops_task_fn job_fn;
static void *job_ctx;

static pthread_mutex_t caller_lock = PTHREAD_MUTEX_INITIALIZER;  // one job at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
static _Atomic int sleepers;
static int workers;  // started so far (guarded by caller_lock)
static _Thread_local int inside_pool;

static inline uint64_t generation(uint64_t t) { return t >> (COUNT_BITS + INDEX_BITS); }
static inline long count_of(uint64_t t) { return (long)((t >> INDEX_BITS) & MAX_COUNT); }
static inline long next_of(uint64_t t) { return (long)(t & ((1UL << INDEX_BITS) - 1)); }

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// Claims and runs indices of the job published as `t`'s generation until
// none is left.
static void run_job(uint64_t t) {
  uint64_t gen = generation(t);
  for (;;) {
    if (generation(t) != gen || next_of(t) >= count_of(t)) return;
    if (atomic_compare_exchange_weak_explicit(&ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire)) {
      job_fn(job_ctx, next_of(t));
      atomic_fetch_add_explicit(&done, 1, memory_order_release);
      t = atomic_load_explicit(&ticket, memory_order_acquire);
    }
  }
}

static void *worker_main(void *unused) {
  (void)unused;
  inside_pool = 1;
  uint64_t seen = atomic_load_explicit(&ticket, memory_order_acquire);
  for (;;) {
    // Spin for new work, then sleep until a caller publishes some.
    long start = now_ns();
    uint64_t t;
    int spins = 0;
    while (generation(t = atomic_load_explicit(&ticket, memory_order_acquire)) == generation(seen)) {
      cpu_relax();
      if (++spins % 64 == 0 && now_ns() - start > POOL_SPIN_NS) {
        pthread_mutex_lock(&sleep_lock);
        atomic_fetch_add(&sleepers, 1);
        while (generation(atomic_load(&ticket)) == generation(seen)) pthread_cond_wait(&sleep_cond, &sleep_lock);
        atomic_fetch_sub(&sleepers, 1);
        pthread_mutex_unlock(&sleep_lock);
        start = now_ns();
      }
    }
    seen = t;
    run_job(t);
  }
  return 0;
}

static void start_workers(int wanted) {
  while (workers < wanted && workers < POOL_MAX_WORKERS) {
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attr, worker_main, 0);
    pthread_attr_destroy(&attr);
    if (failed) return;  // run with the workers there are
    workers++;
  }
}

static void run_serially(long count, pops_task_fn fn, void *ctx) {
  for (long i = 0; i < count; i++) fn(ctx, i);
}

void pops_parallel_for(long count, long threads, pops_task_fn fn, void *ctx) {
  if (count <= 0) return;
  // Nested calls, calls while another thread holds the pool, and jobs of one
  // index run on the calling thread.
  if (count == 1 || threads <= 1 || inside_pool || pthread_mutex_trylock(&caller_lock) != 0) {
    run_serially(count, fn, ctx);
    return;
  }
  start_workers((int)(threads - 1 < count - 1 ? threads - 1 : count - 1));
  inside_pool = 1;
  if (workers == 0 || count > MAX_COUNT) {
    run_serially(count, fn, ctx);
  } else {
    job_fn = fn;
    job_ctx = ctx;
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&ticket, memory_order_relaxed);
    uint64_t t = ((generation(old) + 1) << (COUNT_BITS + INDEX_BITS)) | ((uint64_t)count << INDEX_BITS);
    atomic_store_explicit(&ticket, t, memory_order_seq_cst);
    if (atomic_load(&sleepers) > 0) {
      pthread_mutex_lock(&sleep_lock);
      pthread_cond_broadcast(&sleep_cond);
      pthread_mutex_unlock(&sleep_lock);
    }
    run_job(t);
    // Only indices a worker has started remain: wait for them.
    int spins = 0;
    while (atomic_load_explicit(&done, memory_order_acquire) < count) {
      cpu_relax();
      if (++spins > 4096) sched_yield();
    }
  }
  inside_pool = 0;
  pthread_mutex_unlock(&caller_lock);
}

long pops_next_version(void) {
  static long counter = 0;
  return __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
}
