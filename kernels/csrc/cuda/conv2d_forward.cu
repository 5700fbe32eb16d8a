// conv2d_forward.cu: conv2d forward as an implicit matrix product (tiled, shared memory).
//
// Index map, per group g (blockIdx.z):
//   rows    m = (n*P + p)*Q + q        one output pixel      M = N*P*Q
//   columns j = k                      one output channel    J = Kg (channel g*Kg + j)
//   reduction t = (c*R + r)*S + s                            T = Cg*R*S
//   A(m, t) = x[n, g*Cg + c, h, w] with h = p*sh - ph + r*dh, w = q*sw - pw + s*dw,
//             zero when (h, w) is outside the image (inside_image: the padding)
//   B(t, j) = W[g*Kg + j, c, r, s]     (a plain reshape of the weights)
//   y[n, g*Kg + j, p, q] = b[g*Kg + j] + sum_t A(m, t) * B(t, j)
// A is the im2col matrix, computed on the fly and never stored ("implicit" GEMM); the tiling
// is in tiled_product.cuh.
#include "conv2d_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

template <typename T>
struct ForwardProblem {
    Sizes32 g;
    const T* x;
    const T* w;
    const T* bias;
    T* y;

    __host__ __device__ int64_t rows() const { return int64_t(g.N) * g.P * g.Q; }
    __host__ __device__ int64_t columns() const { return g.Kg(); }
    __host__ __device__ int64_t reduction() const { return g.CRS(); }

    __device__ float a(int group, int64_t m64, int64_t t64) const {
        const int32_t m = int32_t(m64), t = int32_t(t64);
        const int32_t q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        const int32_t s = t % g.S, r = (t / g.S) % g.R, c = t / (g.R * g.S);
        const int32_t h = p * g.sh - g.ph + r * g.dh, w_ = q * g.sw - g.pw + s * g.dw;
        const bool inside_image = h >= 0 && h < g.H && w_ >= 0 && w_ < g.W;
        return inside_image ? to_float(x[((int64_t(n) * g.C + group * g.Cg() + c) * g.H + h) * g.W + w_]) : 0.f;
    }
    __device__ float b(int group, int64_t t, int64_t j) const {
        return to_float(w[(int64_t(group) * g.Kg() + j) * g.CRS() + t]);
    }
    __device__ void store(int group, int64_t m64, int64_t j, float value) const {
        const int32_t m = int32_t(m64), q = m % g.Q, p = (m / g.Q) % g.P, n = m / (g.P * g.Q);
        const int32_t k = group * g.Kg() + int32_t(j);
        if (bias) value += to_float(bias[k]);
        y[((int64_t(n) * g.K + k) * g.P + p) * g.Q + q] = from_float<T>(value);
    }
};

template <typename T>
static int forward(const Conv2dGeometry* g, const void* x, const void* w, const void* b, void* y, void* stream) {
    const ForwardProblem<T> problem{Sizes32(*g), static_cast<const T*>(x), static_cast<const T*>(w),
                                    static_cast<const T*>(b), static_cast<T*>(y)};
    return int(launch_tiled_product(problem, g->groups, static_cast<cudaStream_t>(stream)));
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_forward(int dtype, const Conv2dGeometry* g, const void* x, const void* w,
                                          const void* b, void* y, void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return forward<float>(g, x, w, b, y, stream);
        case CONV_CIRCUITS_FLOAT16: return forward<__half>(g, x, w, b, y, stream);
        case CONV_CIRCUITS_BFLOAT16: return forward<__nv_bfloat16>(g, x, w, b, y, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
