// Convolution kernels shared by every path like gemm_impl.h: included by each
// path's file inside its target attribute region, with POPS_PATH defined and
// the path's micro-kernel `kernel` in scope.

// y[oc, n] += Wpack * B with B read in place, rows `ldcol` apart (a dense
// layer's input gradient, Kernels.inputGradientInPlace).
void POPS_CAT(pops_conv_multiply, POPS_PATH)(const float *wpack, long oc, long k, const float *col, long ldcol,
                                             long n, float *y, long panel0, long panel1) {
  for (long pn = panel0; pn < panel1; pn++) {
    long p0 = pn * NR, cols = n - p0 < NR ? n - p0 : NR;
    for (long i0 = 0; i0 < oc; i0 += MR) {
      long rows = oc - i0 < MR ? oc - i0 : MR;
      kernel(k, wpack + i0 * k, 1, 0, MR, col + p0, ldcol, 0, y + i0 * n + p0, n, 1.0f, rows, cols);
    }
  }
}

// Implicit convolution: the input is split into s x s phase planes per
// channel, zero padded, so that every tap of the kernel reads a contiguous
// run of an "extended" output grid whose rows are wq positions wide (the
// last wq - out_width of each row are computed and dropped):
//   x[c, oy * s + ki - top, ox * s + kj - left]
//     = plane(c, ki % s, kj % s)[oy + ki / s][ox + kj / s].
// The micro-kernel then reads B row k at planes + off[k] + position: no
// column matrix at all.
static inline long POPS_CAT(plane_rows, POPS_PATH)(const pops_conv_geometry *g) {
  return ((g->out_height - 1) * g->stride + g->kernel_height + g->stride - 1) / g->stride;
}
static inline long POPS_CAT(plane_cols, POPS_PATH)(const pops_conv_geometry *g) {
  return ((g->out_width - 1) * g->stride + g->kernel_width + g->stride - 1) / g->stride;
}

void POPS_CAT(pops_conv_planes, POPS_PATH)(const float *x, const pops_conv_geometry *g, long ch0, long ch1,
                                           float *planes) {
  const long s = g->stride, h = g->height, w = g->width;
  const long hq = POPS_CAT(plane_rows, POPS_PATH)(g), wq = POPS_CAT(plane_cols, POPS_PATH)(g);
  for (long c = ch0; c < ch1; c++) {
    for (long qy = 0; qy < s; qy++) {
      for (long qx = 0; qx < s; qx++) {
        float *dst = planes + ((c * s + qy) * s + qx) * hq * wq;
        // Columns j with 0 <= j * s + qx - left < w.
        long lo = 0, hi = wq;
        while (lo < wq && lo * s + qx - g->left < 0) lo++;
        while (hi > lo && (hi - 1) * s + qx - g->left >= w) hi--;
        for (long i = 0; i < hq; i++, dst += wq) {
          const long iy = i * s + qy - g->top;
          if (iy < 0 || iy >= h || lo >= hi) {
            for (long j = 0; j < wq; j++) dst[j] = 0;
            continue;
          }
          const float *row = x + (c * h + iy) * w + qx - g->left;
          for (long j = 0; j < lo; j++) dst[j] = 0;
          switch (s) {
          case 1: for (long j = lo; j < hi; j++) dst[j] = row[j]; break;
          case 2: for (long j = lo; j < hi; j++) dst[j] = row[j * 2]; break;
          case 4: for (long j = lo; j < hi; j++) dst[j] = row[j * 4]; break;
          default: for (long j = lo; j < hi; j++) dst[j] = row[j * s];
          }
          for (long j = hi; j < wq; j++) dst[j] = 0;
        }
      }
    }
  }
}

void POPS_CAT(pops_conv_implicit, POPS_PATH)(const float *wpack, long oc, long k, const float *planes,
                                             const long *off, long n, float *y, long panel0, long panel1) {
  for (long pn = panel0; pn < panel1; pn++) {
    const long p0 = pn * NR, cols = n - p0 < NR ? n - p0 : NR;
    for (long i0 = 0; i0 < oc; i0 += MR) {
      const long rows = oc - i0 < MR ? oc - i0 : MR;
      kernel(k, wpack + i0 * k, 1, 0, MR, planes + p0, 0, off, y + i0 * n + p0, n, 1.0f, rows, cols);
    }
  }
}

void POPS_CAT(pops_conv_weight_gradient, POPS_PATH)(const float *planes, const long *off, long k, long n,
                                                    const float *dpack, long oc, float *dwt) {
  for (long j0 = 0; j0 < oc; j0 += NR) {
    const long cols = oc - j0 < NR ? oc - j0 : NR;
    for (long i0 = 0; i0 < k; i0 += MR) {
      const long rows = k - i0 < MR ? k - i0 : MR;
      kernel(n, planes, 0, off + i0, 1, dpack + j0 * n, NR, 0, dwt + i0 * oc + j0, oc, 1.0f, rows, cols);
    }
  }
}

void POPS_CAT(pops_conv_scatter, POPS_PATH)(const float *dcol, const long *off, long k, long n, float *dplanes) {
  for (long p = 0; p < k; p++) {
    float *dst = dplanes + off[p];
    const float *src = dcol + p * n;
    for (long j = 0; j < n; j++) dst[j] += src[j];
  }
}

void POPS_CAT(pops_conv_unplanes, POPS_PATH)(const float *dplanes, const pops_conv_geometry *g, float *dx) {
  const long s = g->stride, h = g->height, w = g->width;
  const long hq = POPS_CAT(plane_rows, POPS_PATH)(g), wq = POPS_CAT(plane_cols, POPS_PATH)(g);
  // Inputs no output reads (past the last window) get zero.
  for (long i = 0; i < g->channels * h * w; i++) dx[i] = 0;
  for (long c = 0; c < g->channels; c++) {
    for (long iy = 0; iy < h; iy++) {
      const long py = iy + g->top, qy = py % s, i = py / s;
      if (i >= hq) continue;
      float *row = dx + (c * h + iy) * w;
      for (long qx = 0; qx < s; qx++) {
        const float *src = dplanes + ((c * s + qy) * s + qx) * hq * wq + i * wq;
        // Columns ix = j * s + qx - left inside the input and the plane.
        for (long j = 0; j < wq; j++) {
          const long ix = j * s + qx - g->left;
          if (ix >= 0 && ix < w) row[ix] = src[j];
        }
      }
    }
  }
}
