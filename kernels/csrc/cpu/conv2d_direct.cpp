// conv2d_direct.cpp: conv2d forward and backward as the plain loops a lesson shows.
//
// Index map (the same one every kernel in kernels/csrc implements):
//   one output element y[n, k, p, q] is a dot product over the reduction (c, r, s):
//       g = k / Kg                       the group that output channel k belongs to
//       h = p*sh - ph + r*dh             input row    (stride, padding, dilation)
//       w = q*sw - pw + s*dw             input column
//       y[n, k, p, q] = b[k] + sum_{c, r, s} W[k, c, r, s] * x[n, g*Cg + c, h, w]
//   terms with (h, w) outside the image are the zero padding and are skipped.
// Backward, by the chain rule on that one sum:
//   dx[n, g*Cg + c, h, w] = sum over (k in group g, r, s, and the (p, q) that reach (h, w))
//                           of dy[n, k, p, q] * W[k, c, r, s]
//       (p, q) reaches (h, w) when h + ph - r*dh is a multiple of sh, p = (h + ph - r*dh)/sh
//       lies in [0, P), and the same along the columns.
//   dW[k, c, r, s]        = sum_{n, p, q} dy[n, k, p, q] * x[n, g*Cg + c, h, w]
//   db[k]                 = sum_{n, p, q} dy[n, k, p, q]
// Each loop nest writes every output element from exactly one thread (no races): the
// forward parallelises over (n, k), dx over (n, input channel), dW over k.
// Slow (no reuse of loaded values) but obviously right: it is the internal check for the
// packed fast path in conv2d_packed.cpp.
#include "conv2d_cpu.h"

#include <ATen/Parallel.h>

namespace conv_circuits {

template <typename T>
static void forward_direct(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y) {
    const int64_t Cg = g.Cg(), Kg = g.Kg();
    at::parallel_for(0, g.N * g.K, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nk = begin; nk < end; ++nk) {
            const int64_t n = nk / g.K, k = nk % g.K, group = k / Kg;
            for (int64_t p = 0; p < g.P; ++p) {
                for (int64_t q = 0; q < g.Q; ++q) {
                    T acc = b ? b[k] : T(0);
                    for (int64_t c = 0; c < Cg; ++c) {
                        for (int64_t r = 0; r < g.R; ++r) {
                            const int64_t h = p * g.sh - g.ph + r * g.dh;
                            if (h < 0 || h >= g.H) continue;               // padding row
                            for (int64_t s = 0; s < g.S; ++s) {
                                const int64_t w = q * g.sw - g.pw + s * g.dw;
                                if (w < 0 || w >= g.W) continue;           // padding column
                                acc += W[((k * Cg + c) * g.R + r) * g.S + s] *
                                       x[((n * g.C + group * Cg + c) * g.H + h) * g.W + w];
                            }
                        }
                    }
                    y[(nk * g.P + p) * g.Q + q] = acc;
                }
            }
        }
    });
}

template <typename T>
static void input_grad_direct(const Conv2dGeometry& g, const T* dy, const T* W, T* dx) {
    const int64_t Cg = g.Cg(), Kg = g.Kg();
    at::parallel_for(0, g.N * g.C, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nci = begin; nci < end; ++nci) {
            const int64_t n = nci / g.C, ci = nci % g.C, group = ci / Cg, c = ci % Cg;
            for (int64_t h = 0; h < g.H; ++h) {
                for (int64_t w = 0; w < g.W; ++w) {
                    T acc = 0;
                    for (int64_t k = group * Kg; k < (group + 1) * Kg; ++k) {
                        for (int64_t r = 0; r < g.R; ++r) {
                            const int64_t p_times_sh = h + g.ph - r * g.dh;
                            if (p_times_sh < 0 || p_times_sh % g.sh != 0) continue;
                            const int64_t p = p_times_sh / g.sh;
                            if (p >= g.P) continue;
                            for (int64_t s = 0; s < g.S; ++s) {
                                const int64_t q_times_sw = w + g.pw - s * g.dw;
                                if (q_times_sw < 0 || q_times_sw % g.sw != 0) continue;
                                const int64_t q = q_times_sw / g.sw;
                                if (q >= g.Q) continue;
                                acc += dy[((n * g.K + k) * g.P + p) * g.Q + q] *
                                       W[((k * Cg + c) * g.R + r) * g.S + s];
                            }
                        }
                    }
                    dx[(nci * g.H + h) * g.W + w] = acc;
                }
            }
        }
    });
}

template <typename T>
static void weight_grad_direct(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db) {
    const int64_t Cg = g.Cg(), Kg = g.Kg();
    at::parallel_for(0, g.K, 1, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
            const int64_t group = k / Kg;
            T bias_acc = 0;
            for (int64_t n = 0; n < g.N; ++n)
                for (int64_t pq = 0; pq < g.PQ(); ++pq) bias_acc += dy[(n * g.K + k) * g.PQ() + pq];
            db[k] = bias_acc;
            for (int64_t c = 0; c < Cg; ++c) {
                for (int64_t r = 0; r < g.R; ++r) {
                    for (int64_t s = 0; s < g.S; ++s) {
                        T acc = 0;
                        for (int64_t n = 0; n < g.N; ++n) {
                            for (int64_t p = 0; p < g.P; ++p) {
                                const int64_t h = p * g.sh - g.ph + r * g.dh;
                                if (h < 0 || h >= g.H) continue;
                                for (int64_t q = 0; q < g.Q; ++q) {
                                    const int64_t w = q * g.sw - g.pw + s * g.dw;
                                    if (w < 0 || w >= g.W) continue;
                                    acc += dy[((n * g.K + k) * g.P + p) * g.Q + q] *
                                           x[((n * g.C + group * Cg + c) * g.H + h) * g.W + w];
                                }
                            }
                        }
                        dW[((k * Cg + c) * g.R + r) * g.S + s] = acc;
                    }
                }
            }
        }
    });
}

#define CONV_CIRCUITS_INSTANTIATE_DIRECT(T)                                                        \
    template <> void conv2d_forward_direct<T>(const Conv2dGeometry& g, const T* x, const T* W,    \
                                              const T* b, T* y) { forward_direct(g, x, W, b, y); } \
    template <> void conv2d_input_grad_direct<T>(const Conv2dGeometry& g, const T* dy,          \
                                                 const T* W, T* dx) { input_grad_direct(g, dy, W, dx); } \
    template <> void conv2d_weight_grad_direct<T>(const Conv2dGeometry& g, const T* dy,         \
                                                  const T* x, T* dW, T* db) {                    \
        weight_grad_direct(g, dy, x, dW, db);                                                    \
    }
CONV_CIRCUITS_INSTANTIATE_DIRECT(float)
CONV_CIRCUITS_INSTANTIATE_DIRECT(double)

}  // namespace conv_circuits
