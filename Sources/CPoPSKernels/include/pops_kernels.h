// Hot float32 kernels of pops, one implementation per instruction set,
// chosen at run time (see Sources/PoPSCore/InstructionSet.swift). Compiled
// without any CPU flag: the AVX2 and AVX-512 variants carry per-function
// target attributes, so the package builds for any x86-64 (or arm64, where
// only the portable variant exists) and runs the best path the CPU has.
#ifndef POPS_KERNELS_H
#define POPS_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel paths. Values are stable (they cross into Swift).
enum {
  POPS_ISA_GENERIC = 0,
  POPS_ISA_AVX2 = 1,
  POPS_ISA_AVX512 = 2,
};

/// 1 when this CPU and operating system can run `isa`, else 0.
int pops_isa_supported(int isa);

/// Rows (mr) and columns (nr) of the GEMM micro-tile of `isa`: A is packed
/// as [kb][mr] and B as panels of [kb][nr].
int pops_gemm_mr(int isa);
int pops_gemm_nr(int isa);

/// C[0..<rows, 0..<n] += alpha * Apack * Bpack for ceil(rows / mr) packed
/// row blocks of A, each [kb][mr] (zero padded), consecutive in `a`, and
/// ceil(n / nr) packed panels of B, each [kb][nr] (zero padded), consecutive
/// in `b`. Panels are the outer loop, so each B panel stays in L1 while every
/// row block of A (kept in L2) passes over it.
void pops_gemm_panels(
  int isa, long kb, const float *a, const float *b, long n, float *c, long ldc, float alpha, long rows);

/// Packs rows i0..<i0+rows (< mr: zero padded) and columns p0..<p0+kb of
/// op(A) (A stored with leading dimension lda; transposed: A^T) as [kb][mr].
void pops_gemm_pack_a(int isa, int transposed, const float *a, long lda, long i0, long rows, long p0, long kb,
                      float *dst);

/// Packs rows p0..<p0+kb and columns j0..<j0+n of op(B) as ceil(n / nr)
/// panels of [kb][nr], zero padded.
void pops_gemm_pack_b(int isa, int transposed, const float *b, long ldb, long p0, long kb, long j0, long n,
                      float *dst);

/// One Adam step over n parameters (bias correction folded into `step` =
/// lr / (1 - beta1^t) and `root_c2` = sqrt(1 - beta2^t)), as torch.optim.Adam.
void pops_adam(int isa, long n, float *p, const float *g, float *m, float *v, float step, float b1, float b2,
               float eps, float root_c2);

/// One RMSProp step over n parameters, as torch.optim.RMSprop (no momentum).
void pops_rmsprop(int isa, long n, float *p, const float *g, float *v, float lr, float rho, float eps);

/// y[j] += alpha * dot(x, B[j, 0..<k]) for j < n, B stored [n, ldb].
void pops_gemv_rows(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y);

/// y[j] += alpha * sum_p x[p] * B[p, j] for j < n, B stored [k, ldb].
void pops_gemv_columns(int isa, long n, long k, float alpha, const float *x, const float *b, long ldb, float *y);

/// A convolution's geometry: input [channels, height, width], kernel, stride,
/// the padding above (top) and left of the input, and the output size.
typedef struct {
  long channels, height, width;
  long kernel_height, kernel_width, stride, top, left;
  long out_height, out_width;
} pops_conv_geometry;

/// W [oc, k] (a convolution's weights, k = channels * kernel height * width)
/// packed for pops_conv_multiply: ceil(oc / mr) row blocks of [k][mr], zero
/// padded (dst holds ceil(oc / mr) * mr * k floats).
void pops_conv_pack_weights(int isa, const float *w, long oc, long k, float *dst);

/// y[oc, n] += W[oc, k] * col[k, n] over the columns of panels
/// panel0..<panel1 (nr columns each, the last one short), with W packed
/// (pops_conv_pack_weights, same isa) and the
/// B matrix (col, e.g. a dense layer's weights) read in place by the micro-kernel, not
/// packed: its rows are `ldcol` floats apart and must be readable for nr
/// floats past position n - 1 (what is read there is never stored). y
/// starts with the bias (or zero). Kernels.inputGradientInPlace uses it for
/// a dense layer's input gradient (W read in place).
void pops_conv_multiply(int isa, const float *wpack, long oc, long k, const float *col, long ldcol, long n, float *y,
                        long panel0, long panel1);

/// Implicit convolution (no column matrix). The input [channels, height,
/// width] is split per channel into stride x stride zero-padded phase
/// planes of [rows][cols], rows = ((out_height - 1) * s + kernel_height +
/// s - 1) / s and cols likewise from the widths: plane (c, qy, qx) at
/// planes + ((c * s + qy) * s + qx) * rows * cols holds
/// x[c, i * s + qy - top, j * s + qx - left] at [i][j] (0 outside x). Then
/// tap (c, ki, kj) of output (oy, ox) is plane (c, ki % s, kj % s) at
/// [oy + ki / s][ox + kj / s]: over an "extended" output grid of
/// out_height x cols positions (the last cols - out_width of each row are
/// computed and dropped), tap k reads a contiguous run starting at
/// off[k] = plane base + (ki / s) * cols + kj / s. Writes channels
/// ch0..<ch1's planes.
void pops_conv_planes(int isa, const float *x, const pops_conv_geometry *g, long ch0, long ch1, float *planes);

/// y[oc, n] += W[oc, k] * B[k, n] over the positions of panels
/// panel0..<panel1 (nr each, the last one short) where B row p is
/// planes + off[p] (pops_conv_planes' extended grid: n = out_height *
/// cols) and W is packed by pops_conv_pack_weights (same isa). Reads up to
/// nr floats past each row's position n - 1 (what is read there is never
/// stored): the planes need kernel_width + nr floats of slack after them.
void pops_conv_implicit(int isa, const float *wpack, long oc, long k, const float *planes, const long *off, long n,
                        float *y, long panel0, long panel1);

/// dW^T[k, oc] += B[k, n] * d[oc, n]^T for the implicit convolution's B
/// (row p at planes + off[p]; `off` readable for ceil(k / mr) * mr entries,
/// the padding any valid offset) and d^T packed as pops_gemm_pack_b panels
/// of [n][nr] (d on the extended grid, zero in the dropped columns); dW^T
/// rows are oc floats apart.
void pops_conv_weight_gradient(int isa, const float *planes, const long *off, long k, long n, const float *dpack,
                               long oc, float *dwt);

/// The adjoint of reading B: dplanes[off[p] + j] += dcol[p * n + j] for p < k, j < n.
void pops_conv_scatter(int isa, const float *dcol, const long *off, long k, long n, float *dplanes);

/// The adjoint of pops_conv_planes: dx[c, iy, ix] = the plane element that
/// holds x[c, iy, ix] (each input element is in at most one plane; padding
/// is dropped, inputs past the last window get 0). Writes every element of dx.
void pops_conv_unplanes(int isa, const float *dplanes, const pops_conv_geometry *g, float *dx);

/// A task of a parallel loop: runs index `index` of the job with context `ctx`.
typedef void (*pops_task_fn)(void *ctx, long index);

/// Runs fn(ctx, i) for every i in 0..<count on the calling thread and up to
/// threads - 1 pool workers, returning when all have finished. Indices are
/// claimed dynamically, so a busy or sleeping worker never delays the caller
/// beyond the index it is running. Nested calls, and calls while another
/// thread's job is running, run serially on the caller.
void pops_parallel_for(long count, long threads, pops_task_fn fn, void *ctx);

/// A number no earlier call returned (thread-safe): versions of network weights.
long pops_next_version(void);

/// Runs `iterations` rounds of independent register FMAs of `isa` (no
/// memory traffic) and returns the floating-point operations done: divided by
/// the elapsed time it gives the path's measured peak (pops-bench peak).
double pops_fma_peak(int isa, long iterations);

#ifdef __cplusplus
}
#endif

#endif
