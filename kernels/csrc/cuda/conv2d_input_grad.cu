// conv2d_input_grad.cu: the gradient of conv2d with respect to its input (tiled, shared memory).
//
// Index map, per group g (blockIdx.z): each input pixel gathers from the outputs it fed.
//   rows    m = (n*H + h)*W + w        one input pixel       M = N*H*W
//   columns j = c                      one input channel     J = Cg (channel g*Cg + j)
//   reduction t = (k*R + r)*S + s                            T = Kg*R*S
//   input pixel (h, w) was read by output (p, q) through kernel tap (r, s) when
//       h = p*sh - ph + r*dh  and  w = q*sw - pw + s*dw,
//   i.e. p = (h + ph - r*dh) / sh must divide exactly and lie in [0, P) (reaches_output), and
//   the same along the columns. Then
//   A(m, t) = dy[n, g*Kg + k, p, q]    when (p, q) reaches (h, w), else zero
//   B(t, j) = W[g*Kg + k, j, r, s]
//   dx[n, g*Cg + j, h, w] = sum_t A(m, t) * B(t, j)
// Every dx element is written by exactly one thread: no atomics, no zeroing needed.
#include "conv2d_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

template <typename T>
struct InputGradProblem {
    Sizes32 g;
    const T* dy;
    const T* w;
    T* dx;

    __host__ __device__ int64_t rows() const { return int64_t(g.N) * g.H * g.W; }
    __host__ __device__ int64_t columns() const { return g.Cg(); }
    __host__ __device__ int64_t reduction() const { return int64_t(g.Kg()) * g.R * g.S; }

    __device__ float a(int group, int64_t m64, int64_t t64) const {
        const int32_t m = int32_t(m64), t = int32_t(t64);
        const int32_t w_ = m % g.W, h = (m / g.W) % g.H, n = m / (g.H * g.W);
        const int32_t s = t % g.S, r = (t / g.S) % g.R, k = t / (g.R * g.S);
        const int32_t p_times_sh = h + g.ph - r * g.dh, q_times_sw = w_ + g.pw - s * g.dw;
        if (p_times_sh < 0 || q_times_sw < 0 || p_times_sh % g.sh != 0 || q_times_sw % g.sw != 0) return 0.f;
        const int32_t p = p_times_sh / g.sh, q = q_times_sw / g.sw;
        const bool reaches_output = p < g.P && q < g.Q;
        return reaches_output ? to_float(dy[((int64_t(n) * g.K + group * g.Kg() + k) * g.P + p) * g.Q + q]) : 0.f;
    }
    __device__ float b(int group, int64_t t64, int64_t j) const {
        const int32_t t = int32_t(t64), s = t % g.S, r = (t / g.S) % g.R, k = t / (g.R * g.S);
        return to_float(w[(((int64_t(group) * g.Kg() + k) * g.Cg() + j) * g.R + r) * g.S + s]);
    }
    __device__ void store(int group, int64_t m64, int64_t j, float value) const {
        const int32_t m = int32_t(m64), w_ = m % g.W, h = (m / g.W) % g.H, n = m / (g.H * g.W);
        dx[((int64_t(n) * g.C + group * g.Cg() + j) * g.H + h) * g.W + w_] = from_float<T>(value);
    }
};

template <typename T>
static int input_grad(const Conv2dGeometry* g, const void* dy, const void* w, void* dx, void* stream) {
    const InputGradProblem<T> problem{Sizes32(*g), static_cast<const T*>(dy), static_cast<const T*>(w),
                                      static_cast<T*>(dx)};
    return int(launch_tiled_product(problem, g->groups, static_cast<cudaStream_t>(stream)));
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_input_grad(int dtype, const Conv2dGeometry* g, const void* dy, const void* w,
                                             void* dx, void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return input_grad<float>(g, dy, w, dx, stream);
        case CONV_CIRCUITS_FLOAT16: return input_grad<__half>(g, dy, w, dx, stream);
        case CONV_CIRCUITS_BFLOAT16: return input_grad<__nv_bfloat16>(g, dy, w, dx, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
