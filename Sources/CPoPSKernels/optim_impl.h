// The optimisers' element-wise updates, included by each path's file with
// POPS_PATH, TARGET and the vector operations below defined (VEC, VW lanes,
// VLOAD, VSTORE, VSET1, VADD, VSUB, VMUL, VDIV, VSQRT). Each operation rounds
// separately (the including file turns FMA contraction off), as torch.optim
// and pops' earlier Swift code do, on every path.
#define POPS_OPT_CAT2(a, b) a##_##b
#define POPS_OPT_CAT(a, b) POPS_OPT_CAT2(a, b)

// Adam with bias correction (step = lr / (1 - beta1^t), root_c2 = sqrt(1 - beta2^t)).
TARGET void POPS_OPT_CAT(pops_adam, POPS_PATH)(long n, float *p, const float *g, float *m, float *v, float step,
                                               float b1, float b2, float eps, float root_c2) {
  long j = 0;
#ifdef VEC
  VEC B1 = VSET1(b1), B2 = VSET1(b2), C1 = VSET1(1 - b1), C2 = VSET1(1 - b2);
  VEC S = VSET1(step), E = VSET1(eps), R = VSET1(root_c2);
  for (; j + VW <= n; j += VW) {
    VEC gj = VLOAD(g + j);
    VEC mj = VADD(VMUL(B1, VLOAD(m + j)), VMUL(C1, gj));
    VEC vj = VADD(VMUL(B2, VLOAD(v + j)), VMUL(VMUL(C2, gj), gj));
    VSTORE(m + j, mj);
    VSTORE(v + j, vj);
    VSTORE(p + j, VSUB(VLOAD(p + j), VDIV(VMUL(S, mj), VADD(VDIV(VSQRT(vj), R), E))));
  }
#endif
  for (; j < n; j++) {
    float gj = g[j];
    m[j] = b1 * m[j] + (1 - b1) * gj;
    v[j] = b2 * v[j] + (1 - b2) * gj * gj;
    p[j] -= step * m[j] / (__builtin_sqrtf(v[j]) / root_c2 + eps);
  }
}

// RMSProp: v = rho v + (1 - rho) g^2;  p -= lr g / (sqrt(v) + eps).
TARGET void POPS_OPT_CAT(pops_rmsprop, POPS_PATH)(long n, float *p, const float *g, float *v, float lr, float rho,
                                                  float eps) {
  long j = 0;
#ifdef VEC
  VEC RHO = VSET1(rho), C = VSET1(1 - rho), L = VSET1(lr), E = VSET1(eps);
  for (; j + VW <= n; j += VW) {
    VEC gj = VLOAD(g + j);
    VEC vj = VADD(VMUL(RHO, VLOAD(v + j)), VMUL(VMUL(C, gj), gj));
    VSTORE(v + j, vj);
    VSTORE(p + j, VSUB(VLOAD(p + j), VDIV(VMUL(L, gj), VADD(VSQRT(vj), E))));
  }
#endif
  for (; j < n; j++) {
    float gj = g[j];
    v[j] = rho * v[j] + (1 - rho) * gj * gj;
    p[j] -= lr * gj / (__builtin_sqrtf(v[j]) + eps);
  }
}
