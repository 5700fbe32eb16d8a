// group_conv_direct.cpp: p4 / p4m lifting and group convolution as the plain loops a lesson shows.
//
// Index map (group_conv_cpu.h has the flattened view the fast files use):
//   input  x  (N, Cin, Gin, H, W)      Gin = 1 when lifting (x is then (N, Cin, H, W)), else G
//   weight w  (Cout, Cin, Gin, k, k)   (lifting: (Cout, Cin, k, k))
//   output y  (N, Cout, G, P, Q)       G = 4 (p4) or 8 (p4m) output elements g
// One output element is a dot product with the transformed filter g·w:
//   y[n, o, g, p, q] = b[o] + sum over i, e, a, b of
//                      (g·w)[o, i, e, a, b] * x[n, i, e, p*sh - ph + a, q*sw - pw + b]
//   (g·w)[o, i, e, a, b] = w[o, i, g⁻¹e, tap(g, a*k + b)]           (lifting: w[o, i, tap(g, a*k + b)])
// and terms with an input pixel outside the image are the zero padding, skipped. The transformed
// filter is never built: expanded_offset (../group_conv_geometry.h) says where each entry lives in w,
// from the group's tables (generated from kernels/groups.py).
// Backward, by the chain rule on that one sum:
//   dx[n, i, e, h, w] = sum over (o, g, a, b, and the (p, q) whose window puts pixel (a, b) on (h, w))
//                       of dy[n, o, g, p, q] * (g·w)[o, i, e, a, b]
//       (p, q) does when h + ph - a is a multiple of sh, p = (h + ph - a)/sh lies in [0, P), and the
//       same along the columns.
//   dw[o, i, g⁻¹e, tap(g, a*k + b)] += sum_{n, p, q} dy[n, o, g, p, q] * x[n, i, e, h, w]   for every g:
//       a parameter sits in all G transformed copies, so its gradient is the sum of G terms (tied weights)
//   db[o] = sum_{n, g, p, q} dy[n, o, g, p, q]
// Each loop nest writes every output element from exactly one thread (no races): the forward
// parallelises over (n, o), dx over (n, input channel), dw over o (dw[o] is o's alone).
// Slow (no reuse of loaded values) but obviously right: the check for the fast files.
#include "group_conv_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>

namespace conv_circuits {

template <typename T>
void group_conv_forward_direct(const GroupConvGeometry& gg, const T* x, const T* weight, const T* bias, T* y) {
    const int64_t N = gg.conv.N, H = gg.conv.H, W = gg.conv.W, P = gg.conv.P, Q = gg.conv.Q;
    const int64_t G = gg.order, Gin = gg.group_in, k = gg.k, Cout = gg.conv.K / G, Cin = gg.conv.C / Gin;
    at::parallel_for(0, N * Cout, 1, [&](int64_t begin, int64_t end) {
        for (int64_t no = begin; no < end; ++no) {
            const int64_t n = no / Cout, o = no % Cout;
            for (int64_t g = 0; g < G; ++g) {
                for (int64_t p = 0; p < P; ++p) {
                    for (int64_t q = 0; q < Q; ++q) {
                        T acc = bias ? bias[o] : T(0);
                        for (int64_t i = 0; i < Cin; ++i) {
                            for (int64_t e = 0; e < Gin; ++e) {
                                for (int64_t a = 0; a < k; ++a) {
                                    const int64_t h = p * gg.conv.sh - gg.conv.ph + a;
                                    if (h < 0 || h >= H) continue;  // padding row
                                    for (int64_t b = 0; b < k; ++b) {
                                        const int64_t w = q * gg.conv.sw - gg.conv.pw + b;
                                        if (w < 0 || w >= W) continue;  // padding column
                                        acc += weight[expanded_offset(gg, o * G + g, i * Gin + e, a * k + b)] *
                                               x[(((n * Cin + i) * Gin + e) * H + h) * W + w];
                                    }
                                }
                            }
                        }
                        y[(((n * Cout + o) * G + g) * P + p) * Q + q] = acc;
                    }
                }
            }
        }
    });
}

template <typename T>
void group_conv_input_grad_direct(const GroupConvGeometry& gg, const T* dy, const T* weight, T* dx) {
    const int64_t N = gg.conv.N, H = gg.conv.H, W = gg.conv.W, P = gg.conv.P, Q = gg.conv.Q;
    const int64_t G = gg.order, Gin = gg.group_in, k = gg.k, Cout = gg.conv.K / G, C = gg.conv.C;
    at::parallel_for(0, N * C, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
            const int64_t n = nc / C, c = nc % C;  // c = i*Gin + e: input channel i, input element e
            for (int64_t h = 0; h < H; ++h) {
                for (int64_t w = 0; w < W; ++w) {
                    T acc = 0;
                    for (int64_t o = 0; o < Cout; ++o) {
                        for (int64_t g = 0; g < G; ++g) {
                            for (int64_t a = 0; a < k; ++a) {
                                const int64_t p_times_sh = h + gg.conv.ph - a;
                                if (p_times_sh < 0 || p_times_sh % gg.conv.sh != 0) continue;
                                const int64_t p = p_times_sh / gg.conv.sh;
                                if (p >= P) continue;
                                for (int64_t b = 0; b < k; ++b) {
                                    const int64_t q_times_sw = w + gg.conv.pw - b;
                                    if (q_times_sw < 0 || q_times_sw % gg.conv.sw != 0) continue;
                                    const int64_t q = q_times_sw / gg.conv.sw;
                                    if (q >= Q) continue;
                                    acc += dy[(((n * Cout + o) * G + g) * P + p) * Q + q] *
                                           weight[expanded_offset(gg, o * G + g, c, a * k + b)];
                                }
                            }
                        }
                    }
                    dx[(nc * H + h) * W + w] = acc;
                }
            }
        }
    });
}

template <typename T>
void group_conv_weight_grad_direct(const GroupConvGeometry& gg, const T* dy, const T* x, T* dw, T* db) {
    const int64_t N = gg.conv.N, H = gg.conv.H, W = gg.conv.W, P = gg.conv.P, Q = gg.conv.Q;
    const int64_t G = gg.order, Gin = gg.group_in, k = gg.k, Cout = gg.conv.K / G, C = gg.conv.C;
    at::parallel_for(0, Cout, 1, [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            if (db) {
                T bias_acc = 0;
                for (int64_t n = 0; n < N; ++n)
                    for (int64_t gpq = 0; gpq < G * P * Q; ++gpq) bias_acc += dy[(n * Cout + o) * G * P * Q + gpq];
                db[o] = bias_acc;
            }
            std::fill(dw + o * C * k * k, dw + (o + 1) * C * k * k, T(0));
            for (int64_t g = 0; g < G; ++g) {          // every transformed copy g·w ...
                for (int64_t c = 0; c < C; ++c) {      // ... and every entry (c = i*Gin + e, a, b) of it
                    for (int64_t a = 0; a < k; ++a) {
                        for (int64_t b = 0; b < k; ++b) {
                            T acc = 0;
                            for (int64_t n = 0; n < N; ++n) {
                                for (int64_t p = 0; p < P; ++p) {
                                    const int64_t h = p * gg.conv.sh - gg.conv.ph + a;
                                    if (h < 0 || h >= H) continue;
                                    for (int64_t q = 0; q < Q; ++q) {
                                        const int64_t w = q * gg.conv.sw - gg.conv.pw + b;
                                        if (w < 0 || w >= W) continue;
                                        acc += dy[(((n * Cout + o) * G + g) * P + p) * Q + q] *
                                               x[((n * C + c) * H + h) * W + w];
                                    }
                                }
                            }
                            dw[expanded_offset(gg, o * G + g, c, a * k + b)] += acc;  // the G tied copies add up
                        }
                    }
                }
            }
        }
    });
}

template void group_conv_forward_direct<float>(const GroupConvGeometry&, const float*, const float*, const float*, float*);
template void group_conv_forward_direct<double>(const GroupConvGeometry&, const double*, const double*, const double*, double*);
template void group_conv_input_grad_direct<float>(const GroupConvGeometry&, const float*, const float*, float*);
template void group_conv_input_grad_direct<double>(const GroupConvGeometry&, const double*, const double*, double*);
template void group_conv_weight_grad_direct<float>(const GroupConvGeometry&, const float*, const float*, float*, float*);
template void group_conv_weight_grad_direct<double>(const GroupConvGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
