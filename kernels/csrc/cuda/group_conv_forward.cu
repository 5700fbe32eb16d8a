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
    GroupConvGeometry gg;
    const T* x;
    const T* w;
    const T* bias;
    T* y;

    __device__ int64_t rows() const { return gg.conv.N * gg.conv.P * gg.conv.Q; }
    __device__ int64_t columns() const { return gg.conv.K; }
    __device__ int64_t reduction() const { return gg.conv.C * gg.k * gg.k; }

    __device__ float a(int, int64_t m, int64_t t) const {
        const Conv2dGeometry& g = gg.conv;
        const int64_t q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        const int64_t tt = t % (gg.k * gg.k), c = t / (gg.k * gg.k);
        const int64_t h = p * g.sh - g.ph + tt / gg.k, w_ = q * g.sw - g.pw + tt % gg.k;
        const bool inside_image = h >= 0 && h < g.H && w_ >= 0 && w_ < g.W;
        return inside_image ? to_float(x[((n * g.C + c) * g.H + h) * g.W + w_]) : 0.f;
    }
    __device__ float b(int, int64_t t, int64_t j) const {
        const int64_t tt = t % (gg.k * gg.k), c = t / (gg.k * gg.k);
        return to_float(w[conv_circuits::expanded_offset(gg, j, c, tt)]);
    }
    __device__ void store(int, int64_t m, int64_t j, float value) const {
        const Conv2dGeometry& g = gg.conv;
        const int64_t q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        if (bias) value += to_float(bias[j / gg.order]);  // shared over the group axis
        y[((n * g.K + j) * g.P + p) * g.Q + q] = from_float<T>(value);
    }
};

template <typename T>
static int forward(const GroupConvGeometry* gg, const void* x, const void* w, const void* b, void* y, void* stream) {
    const GroupForwardProblem<T> problem{*gg, static_cast<const T*>(x), static_cast<const T*>(w),
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
