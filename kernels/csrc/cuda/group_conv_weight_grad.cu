// group_conv_weight_grad.cu: fused p4 / p4m group convolutions, gradients of weight and bias.
//
// Index map (the flattened conv2d of ../group_conv_geometry.h):
//   rows    m = o*G + g                one output channel            M = K = Cout*G
//   columns j = c*k*k + tt             input channel, filter pixel   J = C*k*k
//   reduction t = (n*P + p)*Q + q      every output pixel of every image   T = N*P*Q
//   A(m, t) = dy[n, m, p, q]
//   B(t, j) = x[n, c, p*sh - ph + tt/k, q*sw - pw + tt%k]   (zero outside the image)
//   dE[m, j] = sum_t A(m, t) * B(t, j), the gradient of the expanded entry E[m, c, tt]; that entry
//   is a copy of w[expanded_offset(m, c, tt)], so the thread holding dE[m, j] adds it there with
//   atomicAdd: the sum over the G tied copies (G entries of dE land on every w entry). The sum is
//   kept in a float32 buffer whatever the dtype (atomicAdd on float works on every GPU).
// Bias: block o reduces db[o] = sum over n, g, p, q of dy[n, o*G + g, p, q] (a shared-memory tree).
#include "group_conv_cuda.h"
#include "tiled_product.cuh"

namespace conv_circuits_cuda {

using conv_circuits::GroupConvGeometry;

template <typename T>
struct GroupWeightGradProblem {
    GroupConvGeometry gg;  // for expanded_offset (and its tables)
    Sizes32 g;             // gg.conv in 32 bits, for the index arithmetic (tiled_product.cuh)
    int32_t kk;            // k*k, the pixels of one filter
    const T* dy;
    const T* x;
    float* dw;

    __host__ __device__ int64_t rows() const { return g.K; }
    __host__ __device__ int64_t columns() const { return int64_t(g.C) * kk; }
    __host__ __device__ int64_t reduction() const { return int64_t(g.N) * g.P * g.Q; }

    __device__ float a(int, int64_t m, int64_t t64) const {
        const int32_t t = int32_t(t64), pq = t % (g.P * g.Q), n = t / (g.P * g.Q);
        return to_float(dy[(int64_t(n) * g.K + m) * g.P * g.Q + pq]);
    }
    __device__ float b(int, int64_t t64, int64_t j64) const {
        const int32_t t = int32_t(t64), j = int32_t(j64), k = int32_t(gg.k);
        const int32_t q = t % g.Q, p = (t / g.Q) % g.P, n = t / (g.P * g.Q);
        const int32_t tt = j % kk, c = j / kk;
        const int32_t h = p * g.sh - g.ph + tt / k, w_ = q * g.sw - g.pw + tt % k;
        const bool inside_image = h >= 0 && h < g.H && w_ >= 0 && w_ < g.W;
        return inside_image ? to_float(x[((int64_t(n) * g.C + c) * g.H + h) * g.W + w_]) : 0.f;
    }
    __device__ void store(int, int64_t m, int64_t j64, float value) const {
        const int32_t j = int32_t(j64), tt = j % kk, c = j / kk;
        atomicAdd(dw + conv_circuits::expanded_offset(gg, m, c, tt), value);
    }
};

constexpr int GROUP_BIAS_THREADS = 256;

template <typename T>
__global__ void __launch_bounds__(GROUP_BIAS_THREADS) group_bias_grad(GroupConvGeometry gg, const T* dy, T* db) {
    __shared__ float partial[GROUP_BIAS_THREADS];
    const int64_t o = blockIdx.x, plane = gg.order * gg.conv.P * gg.conv.Q;  // dy[n, o] is G*P*Q values
    const int64_t cout = gg.conv.K / gg.order;
    float sum = 0.f;
    for (int64_t i = threadIdx.x; i < gg.conv.N * plane; i += GROUP_BIAS_THREADS) {
        const int64_t n = i / plane, e = i % plane;
        sum += to_float(dy[(n * cout + o) * plane + e]);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int half = GROUP_BIAS_THREADS / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[o] = from_float<T>(partial[0]);
}

template <typename T>
static int weight_grad(const GroupConvGeometry* gg, const void* dy, const void* x, float* dw, void* db, void* stream) {
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    const GroupWeightGradProblem<T> problem{*gg, Sizes32(gg->conv), int32_t(gg->k * gg->k), static_cast<const T*>(dy),
                                            static_cast<const T*>(x), dw};
    cudaError_t error = launch_tiled_product(problem, 1, s);
    const int64_t cout = gg->conv.K / gg->order;
    if (error != cudaSuccess || db == nullptr || cout == 0) return int(error);
    group_bias_grad<T><<<unsigned(cout), GROUP_BIAS_THREADS, 0, s>>>(*gg, static_cast<const T*>(dy), static_cast<T*>(db));
    return int(cudaGetLastError());
}

}  // namespace conv_circuits_cuda

extern "C" int conv_circuits_cuda_group_weight_grad(int dtype, const conv_circuits::GroupConvGeometry* gg,
                                                    const void* dy, const void* x, float* dw_float, void* db,
                                                    void* stream) {
    using namespace conv_circuits_cuda;
    switch (dtype) {
        case CONV_CIRCUITS_FLOAT32: return weight_grad<float>(gg, dy, x, dw_float, db, stream);
        case CONV_CIRCUITS_FLOAT16: return weight_grad<__half>(gg, dy, x, dw_float, db, stream);
        case CONV_CIRCUITS_BFLOAT16: return weight_grad<__nv_bfloat16>(gg, dy, x, dw_float, db, stream);
        default: return int(cudaErrorInvalidValue);
    }
}
