// conv2d_weight_grad.cu: the gradients of conv2d with respect to weight and bias.
//
// Index map of the weight gradient, per group g (blockIdx.z):
//   rows    m = k                      one output channel    M = Kg (channel g*Kg + m)
//   columns j = (c*R + r)*S + s        one weight tap        J = Cg*R*S
//   reduction t = (n*P + p)*Q + q      every output pixel of every image    T = N*P*Q
//   A(m, t) = dy[n, g*Kg + m, p, q]
//   B(t, j) = x[n, g*Cg + c, h, w] with h = p*sh - ph + r*dh, w = q*sw - pw + s*dw,
//             zero outside the image (inside_image: the padding)
//   dW[g*Kg + m, c, r, s] = sum_t A(m, t) * B(t, j)
// Bias gradient: block k reduces db[k] = sum over n, p, q of dy[n, k, p, q]; each thread
// sums a strided slice (reads of neighbouring threads are neighbouring), then a tree
// reduction in shared memory halves the partial sums until thread 0 holds the total.
#include "conv2d_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

template <typename T>
struct WeightGradProblem {
    Sizes32 g;
    const T* dy;
    const T* x;
    T* dw;

    __host__ __device__ int64_t rows() const { return g.Kg(); }
    __host__ __device__ int64_t columns() const { return g.CRS(); }
    __host__ __device__ int64_t reduction() const { return int64_t(g.N) * g.P * g.Q; }

    __device__ float a(int group, int64_t m, int64_t t64) const {
        const int32_t t = int32_t(t64), pq = t % (g.P * g.Q), n = t / (g.P * g.Q);
        return to_float(dy[(int64_t(n) * g.K + group * g.Kg() + m) * g.P * g.Q + pq]);
    }
    __device__ float b(int group, int64_t t64, int64_t j64) const {
        const int32_t t = int32_t(t64), j = int32_t(j64);
        const int32_t q = t % g.Q, p = (t / g.Q) % g.P, n = t / (g.P * g.Q);
        const int32_t s = j % g.S, r = (j / g.S) % g.R, c = j / (g.R * g.S);
        const int32_t h = p * g.sh - g.ph + r * g.dh, w_ = q * g.sw - g.pw + s * g.dw;
        const bool inside_image = h >= 0 && h < g.H && w_ >= 0 && w_ < g.W;
        return inside_image ? to_float(x[((int64_t(n) * g.C + group * g.Cg() + c) * g.H + h) * g.W + w_]) : 0.f;
    }
    __device__ void store(int group, int64_t m, int64_t j, float value) const {
        dw[(int64_t(group) * g.Kg() + m) * g.CRS() + j] = from_float<T>(value);
    }
};

constexpr int BIAS_THREADS = 256;

template <typename T>
__global__ void __launch_bounds__(BIAS_THREADS) bias_grad(Conv2dGeometry g, const T* dy, T* db) {
    __shared__ float partial[BIAS_THREADS];
    const int64_t k = blockIdx.x, PQ = g.P * g.Q;
    float sum = 0.f;
    for (int64_t i = threadIdx.x; i < g.N * PQ; i += BIAS_THREADS) {
        const int64_t n = i / PQ, pq = i % PQ;
        sum += to_float(dy[(n * g.K + k) * PQ + pq]);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = BIAS_THREADS / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[k] = from_float<T>(partial[0]);
}

template <typename T>
static int weight_grad(const Conv2dGeometry* g, const void* dy, const void* x, void* dw, void* db, void* stream) {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    const WeightGradProblem<T> problem{Sizes32(*g), static_cast<const T*>(dy), static_cast<const T*>(x),
                                       static_cast<T*>(dw)};
    cudaError_t error = launch_tiled_product(problem, g->groups, s);
    if (error != cudaSuccess || db == nullptr || g->K == 0) return int(error);
    bias_grad<T><<<unsigned(g->K), BIAS_THREADS, 0, s>>>(*g, static_cast<const T*>(dy), static_cast<T*>(db));
    return int(cudaGetLastError());
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_weight_grad(int dtype, const Conv2dGeometry* g, const void* dy, const void* x,
                                              void* dw, void* db, void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return weight_grad<float>(g, dy, x, dw, db, stream);
        case CONV_CIRCUITS_FLOAT16: return weight_grad<__half>(g, dy, x, dw, db, stream);
        case CONV_CIRCUITS_BFLOAT16: return weight_grad<__nv_bfloat16>(g, dy, x, dw, db, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
