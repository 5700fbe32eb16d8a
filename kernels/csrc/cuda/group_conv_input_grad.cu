// group_conv_input_grad.cu: fused p4 / p4m group convolutions, gradient with respect to the input.
//
// Index map (the flattened conv2d of ../group_conv_geometry.h): each input pixel gathers from the
// outputs it fed.
//   rows    m = (n*H + h)*W + w        one input pixel               M = N*H*W
//   columns j = c                      one input channel             J = C = Cin*Gin
//   reduction t = (o*G + g)*k*k + tt   output channel, filter pixel  T = K*k*k
//   input pixel (h, w) was read by output (p, q) through filter pixel tt = r*k + s when
//   h = p*sh - ph + r and w = q*sw - pw + s (reaches_output: exact division, inside the output)
//   A(m, t) = dy[n, o*G + g, p, q]     when (p, q) reaches (h, w), else zero
//   B(t, j) = E[o*G + g, j, tt] = w[expanded_offset(o*G + g, j, tt)]    (never stored)
//   dx[n, j, h, w] = sum_t A(m, t) * B(t, j)
// Every dx element is written by exactly one thread: no atomics, no zeroing.
#include "group_conv_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

using conv_circuits::GroupConvGeometry;

template <typename T>
struct GroupInputGradProblem {
    GroupConvGeometry gg;  // for expanded_offset (and its tables)
    Sizes32 g;             // gg.conv in 32 bits, for the index arithmetic (tiled_product.cuh)
    int32_t kk;            // k*k, the pixels of one filter
    const T* dy;
    const T* w;
    T* dx;

    __host__ __device__ int64_t rows() const { return int64_t(g.N) * g.H * g.W; }
    __host__ __device__ int64_t columns() const { return g.C; }
    __host__ __device__ int64_t reduction() const { return int64_t(g.K) * kk; }

    __device__ float a(int, int64_t m64, int64_t t64) const {
        const int32_t m = int32_t(m64), t = int32_t(t64), k = int32_t(gg.k);
        const int32_t w_ = m % g.W, h = (m / g.W) % g.H, n = m / (g.H * g.W);
        const int32_t tt = t % kk, row = t / kk;
        const int32_t p_times_sh = h + g.ph - tt / k, q_times_sw = w_ + g.pw - tt % k;
        if (p_times_sh < 0 || q_times_sw < 0 || p_times_sh % g.sh != 0 || q_times_sw % g.sw != 0) return 0.f;
        const int32_t p = p_times_sh / g.sh, q = q_times_sw / g.sw;
        const bool reaches_output = p < g.P && q < g.Q;
        return reaches_output ? to_float(dy[((int64_t(n) * g.K + row) * g.P + p) * g.Q + q]) : 0.f;
    }
    __device__ float b(int, int64_t t64, int64_t j) const {
        const int32_t t = int32_t(t64), tt = t % kk, row = t / kk;
        return to_float(w[conv_circuits::expanded_offset(gg, row, j, tt)]);
    }
    __device__ void store(int, int64_t m64, int64_t j, float value) const {
        const int32_t m = int32_t(m64), w_ = m % g.W, h = (m / g.W) % g.H, n = m / (g.H * g.W);
        dx[((int64_t(n) * g.C + j) * g.H + h) * g.W + w_] = from_float<T>(value);
    }
};

template <typename T>
static int input_grad(const GroupConvGeometry* gg, const void* dy, const void* w, void* dx, void* stream) {
    const GroupInputGradProblem<T> problem{*gg, Sizes32(gg->conv), int32_t(gg->k * gg->k), static_cast<const T*>(dy),
                                           static_cast<const T*>(w), static_cast<T*>(dx)};
    return int(launch_tiled_product(problem, 1, static_cast<cudaStream_t>(stream)));
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_group_input_grad(int dtype, const conv_circuits::GroupConvGeometry* gg,
                                                   const void* dy, const void* w, void* dx, void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return input_grad<float>(gg, dy, w, dx, stream);
        case CONV_CIRCUITS_FLOAT16: return input_grad<__half>(gg, dy, w, dx, stream);
        case CONV_CIRCUITS_BFLOAT16: return input_grad<__nv_bfloat16>(gg, dy, w, dx, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
