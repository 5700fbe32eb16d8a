// tiled_product.cuh: the shared-memory tiled matrix product that all three CUDA conv2d kernels run.
//
// Index map. One kernel launch computes, for each group g (blockIdx.z),
//     C[m, j] = sum_{t < T} A(g, m, t) * B(g, t, j)        m < M rows, j < J columns
// where a Problem (a small struct with __device__ methods, one per convolution product)
// says what A and B are, that is, how a (row, reduction index) becomes an input address,
// and where C[m, j] is stored. The products are written out in conv2d_forward.cu,
// conv2d_input_grad.cu and conv2d_weight_grad.cu.
// Tiling: block (blockIdx.x, blockIdx.y) owns the BM x BN tile of C with rows
// m0 = blockIdx.x*BM .. and columns j0 = blockIdx.y*BN ..; its 16 x 16 threads each keep
// TM x TN = 4 x 4 accumulators, thread (ty, tx) owning rows m0 + ty + 16*i and columns
// j0 + tx + 16*jj (strided, so neighbouring threads store neighbouring columns).
// The reduction runs in steps of BK: the block stages A[m0.., t0..t0+BK) and
// B[t0..t0+BK, j0..) in shared memory (each thread loads BK*BM/256 elements of each), waits,
// and every thread multiplies its 4 x 4 corner out of shared memory. Elements outside
// (m < M, t < T, j < J) are loaded as zero (masks in_rows, in_reduction, in_columns).
// Accumulation is in float for every storage type (float, half, bfloat16).
//
// Index arithmetic in 32 bits, addresses in 64. A Problem turns m, t, j into coordinates with
// divisions: in 32 bits the hardware does one in a few instructions, while a 64-bit division is a
// subroutine call, and the registers saved around that call spill to local memory inside the hot loop
// (ptxas, sm_90; tests/kernels/test_cuda_compile.py checks that nothing spills). So the Problems read
// the sizes as Sizes32, and launch_tiled_product refuses (cudaErrorInvalidValue) a product with 2^31 or
// more rows, columns or reduction terms, so that every coordinate fits; addresses start from an
// int64_t, so a tensor may still hold more than 2^31 elements.
#pragma once
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#include <cstdint>

#include "../conv2d_geometry.h"

namespace conv_circuits_cuda {

// Conv2dGeometry's sizes as 32-bit ints (the names and meanings of conv2d_geometry.h).
struct Sizes32 {
    int32_t N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, groups;
    explicit Sizes32(const Conv2dGeometry& g)
        : N(int32_t(g.N)), C(int32_t(g.C)), H(int32_t(g.H)), W(int32_t(g.W)), K(int32_t(g.K)), R(int32_t(g.R)),
          S(int32_t(g.S)), P(int32_t(g.P)), Q(int32_t(g.Q)), sh(int32_t(g.sh)), sw(int32_t(g.sw)), ph(int32_t(g.ph)),
          pw(int32_t(g.pw)), dh(int32_t(g.dh)), dw(int32_t(g.dw)), groups(int32_t(g.groups)) {}
    __host__ __device__ int32_t Cg() const { return C / groups; }
    __host__ __device__ int32_t Kg() const { return K / groups; }
    __host__ __device__ int32_t CRS() const { return Cg() * R * S; }
};

constexpr int BM = 64, BN = 64, BK = 16, THREADS_X = 16, THREADS_Y = 16;
constexpr int TM = BM / THREADS_Y, TN = BN / THREADS_X;
constexpr int THREADS = THREADS_X * THREADS_Y;

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

template <class Problem>
__global__ void __launch_bounds__(THREADS) tiled_product(Problem problem) {
    __shared__ float a_tile[BK][BM + 1];  // +1: no bank conflicts on the transposed store
    __shared__ float b_tile[BK][BN + 1];
    const int g = blockIdx.z;
    const int64_t m0 = int64_t(blockIdx.x) * BM, j0 = int64_t(blockIdx.y) * BN;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * THREADS_X + tx;
    const int64_t M = problem.rows(), J = problem.columns(), T = problem.reduction();

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int jj = 0; jj < TN; ++jj) acc[i][jj] = 0.f;

    for (int64_t t0 = 0; t0 < T; t0 += BK) {
#pragma unroll
        for (int e = tid; e < BK * BM; e += THREADS) {
            const int kk = e / BM, mm = e % BM;  // consecutive threads: consecutive rows m
            const bool in_rows = m0 + mm < M, in_reduction = t0 + kk < T;
            a_tile[kk][mm] = (in_rows && in_reduction) ? problem.a(g, m0 + mm, t0 + kk) : 0.f;
        }
#pragma unroll
        for (int e = tid; e < BK * BN; e += THREADS) {
            const int kk = e / BN, jj = e % BN;
            const bool in_columns = j0 + jj < J, in_reduction = t0 + kk < T;
            b_tile[kk][jj] = (in_columns && in_reduction) ? problem.b(g, t0 + kk, j0 + jj) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float a_reg[TM], b_reg[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) a_reg[i] = a_tile[kk][ty + THREADS_Y * i];
#pragma unroll
            for (int jj = 0; jj < TN; ++jj) b_reg[jj] = b_tile[kk][tx + THREADS_X * jj];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int jj = 0; jj < TN; ++jj) acc[i][jj] += a_reg[i] * b_reg[jj];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int64_t m = m0 + ty + THREADS_Y * i;
#pragma unroll
        for (int jj = 0; jj < TN; ++jj) {
            const int64_t j = j0 + tx + THREADS_X * jj;
            if (m < M && j < J) problem.store(g, m, j, acc[i][jj]);  // in_output
        }
    }
}

template <class Problem>
cudaError_t launch_tiled_product(const Problem& problem, int64_t groups, cudaStream_t stream) {
    const int64_t M = problem.rows(), J = problem.columns(), T = problem.reduction();
    if (M == 0 || J == 0) return cudaSuccess;
    if (M > INT32_MAX || J > INT32_MAX || T > INT32_MAX) return cudaErrorInvalidValue;  // see "Index arithmetic"
    const dim3 grid(unsigned((M + BM - 1) / BM), unsigned((J + BN - 1) / BN), unsigned(groups));
    const dim3 block(THREADS_X, THREADS_Y);
    tiled_product<Problem><<<grid, block, 0, stream>>>(problem);
    return cudaGetLastError();
}

}  // namespace conv_circuits_cuda
