// Which kernel paths this CPU runs, and the dispatch to them.
#include "pops_kernels.h"
#include "kernels_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>

// XCR0: which register states the operating system saves on a context switch.
static unsigned long long xcr0(void) {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

static int x86_supports(int isa) {
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!(fma && osxsave && avx)) return 0;
  unsigned long long x = xcr0();
  if ((x & 0x6) != 0x6) return 0;  // XMM and YMM state
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int avx2 = (b >> 5) & 1;
  if (isa == POPS_ISA_AVX2) return avx2;
  int avx512f = (b >> 16) & 1, avx512vl = (b >> 31) & 1;
  // Opmask, upper halves of ZMM0-15 and ZMM16-31.
  return avx2 && avx512f && avx512vl && (x & 0xE0) == 0xE0;
}
#endif

static int detect(int isa) {
  switch (isa) {
  case POPS_ISA_GENERIC: return 1;
#if defined(__x86_64__)
  case POPS_ISA_AVX2:
  case POPS_ISA_AVX512: return x86_supports(isa);
#endif
  default: return 0;
  }
}

// CPUID traps to the hypervisor in a VM (microseconds): detect once per path.
// Racing first calls store the same value.
static int cached[3] = {-1, -1, -1};

int pops_isa_supported(int isa) {
  if (isa < 0 || isa > 2) return 0;
  int known = __atomic_load_n(&cached[isa], __ATOMIC_RELAXED);
  if (known < 0) {
    known = detect(isa);
    __atomic_store_n(&cached[isa], known, __ATOMIC_RELAXED);
  }
  return known;
}

// A path the CPU cannot run is never executed: every entry point falls back
// to the portable code (and its tile), so a wrong argument is slow, not SIGILL.
static int usable(int isa) { return pops_isa_supported(isa) ? isa : POPS_ISA_GENERIC; }

int pops_gemm_mr(int isa) { return usable(isa) == POPS_ISA_AVX512 ? 8 : 6; }
int pops_gemm_nr(int isa) { return usable(isa) == POPS_ISA_AVX512 ? 32 : 16; }

void pops_gemm_panels(
  int isa, long kb, const float *a, const float *b, long n, float *c, long ldc, float alpha, long rows) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_gemm_panels_avx512(kb, a, b, n, c, ldc, alpha, rows); return; }
  if (isa == POPS_ISA_AVX2) { pops_gemm_panels_avx2(kb, a, b, n, c, ldc, alpha, rows); return; }
#endif
  pops_gemm_panels_generic(kb, a, b, n, c, ldc, alpha, rows);
}

void pops_gemv_rows(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_gemv_rows_avx512(n, k, alpha, x, b, ldb, y); return; }
  if (isa == POPS_ISA_AVX2) { pops_gemv_rows_avx2(n, k, alpha, x, b, ldb, y); return; }
#endif
  pops_gemv_rows_generic(n, k, alpha, x, b, ldb, y);
}

void pops_gemv_columns(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_gemv_columns_avx512(n, k, alpha, x, b, ldb, y); return; }
  if (isa == POPS_ISA_AVX2) { pops_gemv_columns_avx2(n, k, alpha, x, b, ldb, y); return; }
#endif
  pops_gemv_columns_generic(n, k, alpha, x, b, ldb, y);
}

double pops_fma_peak(int isa, long iterations) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) return pops_fma_peak_avx512(iterations);
  if (isa == POPS_ISA_AVX2) return pops_fma_peak_avx2(iterations);
#endif
  return pops_fma_peak_generic(iterations);
}

void pops_gemm_pack_a(int isa, int transposed, const float *a, long lda, long i0, long rows, long p0, long kb,
                      float *dst) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_gemm_pack_a_avx512(transposed, a, lda, i0, rows, p0, kb, dst); return; }
  if (isa == POPS_ISA_AVX2) { pops_gemm_pack_a_avx2(transposed, a, lda, i0, rows, p0, kb, dst); return; }
#endif
  pops_gemm_pack_a_generic(transposed, a, lda, i0, rows, p0, kb, dst);
}

void pops_gemm_pack_b(int isa, int transposed, const float *b, long ldb, long p0, long kb, long j0, long n,
                      float *dst) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_gemm_pack_b_avx512(transposed, b, ldb, p0, kb, j0, n, dst); return; }
  if (isa == POPS_ISA_AVX2) { pops_gemm_pack_b_avx2(transposed, b, ldb, p0, kb, j0, n, dst); return; }
#endif
  pops_gemm_pack_b_generic(transposed, b, ldb, p0, kb, j0, n, dst);
}

void pops_adam(int isa, long n, float *p, const float *g, float *m, float *v, float step, float b1, float b2,
               float eps, float root_c2) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_adam_avx512(n, p, g, m, v, step, b1, b2, eps, root_c2); return; }
  if (isa == POPS_ISA_AVX2) { pops_adam_avx2(n, p, g, m, v, step, b1, b2, eps, root_c2); return; }
#endif
  pops_adam_generic(n, p, g, m, v, step, b1, b2, eps, root_c2);
}

void pops_rmsprop(int isa, long n, float *p, const float *g, float *v, float lr, float rho, float eps) {
  isa = usable(isa);
#if defined(__x86_64__)
  if (isa == POPS_ISA_AVX512) { pops_rmsprop_avx512(n, p, g, v, lr, rho, eps); return; }
  if (isa == POPS_ISA_AVX2) { pops_rmsprop_avx2(n, p, g, v, lr, rho, eps); return; }
#endif
  pops_rmsprop_generic(n, p, g, v, lr, rho, eps);
}
