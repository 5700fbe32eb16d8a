// group_conv_forward.cu: fused p4 / p4m lifting and group convolution, forward (tiled, shared memory).
//
// Index map (the flattened conv2d of ../group_conv_geometry.h, one group):
//   rows    m = (n*P + p)*Q + q        one output pixel            M = N*P*Q
//   columns j = o*G + g                one output channel          J = K = Cout*G
//   reduction t = c*k*k + tt           input channel, filter pixel T = C*k*k
//   A(m, t) = x[n, c, p*sh - ph + tt/k, q*sw - pw + tt%k]   (zero outside the image: the padding)
//   B(t, j) = E[j, c, tt] = w[expanded_offset(j, c, tt)]   the transformed filter tap, by index
//             arithmetic (g⁻¹h and the pixel map of g): the expanded bank is never stored
//   y[n, j, p, q] = b[o] + sum_t A(m, t) * B(t, j)
// The tiling is tiled_product.cuh's (the conv2d kernels use it too).
#include "group_conv_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

using conv_circuits::GroupConvGeometry;

template <typename T>
struct GroupForwardProblem {
    GroupConvGeometry gg;  // for expanded_offset (and its tables)
    Sizes32 g;             // gg.conv in 32 bits, for the index arithmetic (tiled_product.cuh)
    int32_t kk;            // k*k, the pixels of one filter
    const T* x;
    const T* w;
    const T* bias;
    T* y;

    __host__ __device__ int64_t rows() const { return int64_t(g.N) * g.P * g.Q; }
    __host__ __device__ int64_t columns() const { return g.K; }
    __host__ __device__ int64_t reduction() const { return int64_t(g.C) * kk; }

    __device__ float a(int, int64_t m64, int64_t t64) const {
        const int32_t m = int32_t(m64), t = int32_t(t64), k = int32_t(gg.k);
        const int32_t q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        const int32_t tt = t % kk, c = t / kk;
        const int32_t h = p * g.sh - g.ph + tt / k, w_ = q * g.sw - g.pw + tt % k;
        const bool inside_image = h >= 0 && h < g.H && w_ >= 0 && w_ < g.W;
        return inside_image ? to_float(x[((int64_t(n) * g.C + c) * g.H + h) * g.W + w_]) : 0.f;
    }
    __device__ float b(int, int64_t t64, int64_t j) const {
        const int32_t t = int32_t(t64), tt = t % kk, c = t / kk;
        return to_float(w[conv_circuits::expanded_offset(gg, j, c, tt)]);
    }
    __device__ void store(int, int64_t m64, int64_t j64, float value) const {
        const int32_t m = int32_t(m64), j = int32_t(j64);
        const int32_t q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        if (bias) value += to_float(bias[j / int32_t(gg.order)]);  // shared over the group axis
        y[((int64_t(n) * g.K + j) * g.P + p) * g.Q + q] = from_float<T>(value);
    }
};

template <typename T>
static int forward(const GroupConvGeometry* gg, const void* x, const void* w, const void* b, void* y, void* stream) {
    const GroupForwardProblem<T> problem{*gg, Sizes32(gg->conv), int32_t(gg->k * gg->k), static_cast<const T*>(x),
                                         static_cast<const T*>(w),
                                         static_cast<const T*>(b), static_cast<T*>(y)};
    return int(launch_tiled_product(problem, 1, static_cast<cudaStream_t>(stream)));
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_group_forward(int dtype, const conv_circuits::GroupConvGeometry* gg, const void* x,
                                                const void* w, const void* b, void* y, void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return forward<float>(gg, x, w, b, y, stream);
        case CONV_CIRCUITS_FLOAT16: return forward<__half>(gg, x, w, b, y, stream);
        case CONV_CIRCUITS_BFLOAT16: return forward<__nv_bfloat16>(gg, x, w, b, y, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
