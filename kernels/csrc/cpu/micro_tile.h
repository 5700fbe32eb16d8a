// micro_tile.h: the register-blocked inner product at the heart of the fast CPU path.
//
// One call computes an MR x NR tile of a matrix product C = A B from two packed panels:
//   a: kc steps of MR values   a[i*MR + m]   (one column of A per step, MR rows)
//   b: kc steps of NR values   b[i*NR + j]   (one row of B per step, NR columns)
//   c[m*ldc + j]  (+)=  sum_{i < kc} a[i*MR + m] * b[i*NR + j]      m < MR, j < NR
// The MR x NR accumulators live in vector registers for the whole loop over i: each step
// loads NV vectors of b, broadcasts MR scalars of a, and does MR*NV fused multiply-adds.
// Packing (done by the callers) makes both reads sequential and lets every tile of a
// convolution reuse one small panel of input patches from the L1 cache.
// Plain C++ with GCC/Clang vector extensions: the compiler emits AVX-512, AVX2 or SSE/NEON
// code for the machine the extension is built on (see kernels/extension.py).
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace conv_circuits {

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;  // 32 zmm registers: 8 x 2 accumulators fit easily
constexpr int kTileRows = 8;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;  // 16 ymm registers: 6 x 2 accumulators + 3 operands
constexpr int kTileRows = 6;
#else
constexpr int kVectorBytes = 16;
constexpr int kTileRows = 6;
#endif

template <typename T> struct VectorOf;
template <> struct VectorOf<float> { typedef float type __attribute__((vector_size(kVectorBytes))); };
template <> struct VectorOf<double> { typedef double type __attribute__((vector_size(kVectorBytes))); };

template <typename T> struct Tile {
    using Vec = typename VectorOf<T>::type;
    static constexpr int L = kVectorBytes / int(sizeof(T));  // lanes per vector
    static constexpr int NV = 2;                             // vectors per tile row
    static constexpr int NR = L * NV;                        // tile columns
    static constexpr int MR = kTileRows;                     // tile rows
};

template <typename V, typename T> static inline V load_vec(const T* p) { V v; std::memcpy(&v, p, sizeof(V)); return v; }
// Every lane = *p. Written as a load of one scalar so the compiler can fold it into the
// multiply-add as a broadcast memory operand (one instruction instead of two).
template <typename V, typename T> static inline V broadcast(const T* p) { return V{} + *p; }
#if defined(__AVX512F__)
template <> inline VectorOf<float>::type broadcast<VectorOf<float>::type, float>(const float* p) {
    return (VectorOf<float>::type)_mm512_set1_ps(*p);
}
template <> inline VectorOf<double>::type broadcast<VectorOf<double>::type, double>(const double* p) {
    return (VectorOf<double>::type)_mm512_set1_pd(*p);
}
#elif defined(__AVX__)
template <> inline VectorOf<float>::type broadcast<VectorOf<float>::type, float>(const float* p) {
    return (VectorOf<float>::type)_mm256_broadcast_ss(p);
}
template <> inline VectorOf<double>::type broadcast<VectorOf<double>::type, double>(const double* p) {
    return (VectorOf<double>::type)_mm256_broadcast_sd(p);
}
#endif
template <typename V, typename T> static inline void store_vec(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }

// The tile's initial value: c itself when accumulating, else row_init[m] (a bias) or zero.
// Only the m_valid x n_valid corner of c is read and written (edge tiles).
template <typename T>
static inline void micro_tile(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc,
                              const T* row_init, bool accumulate, int m_valid, int n_valid) {
    using Vec = typename Tile<T>::Vec;
    constexpr int MR = Tile<T>::MR, NV = Tile<T>::NV, L = Tile<T>::L, NR = Tile<T>::NR;
    const bool full = (m_valid == MR && n_valid == NR);
    T edge[MR * NR];            // staging area for a partial tile
    T* dst = c;
    int64_t ld = ldc;
    if (!full) {
        for (int m = 0; m < MR; ++m)
            for (int j = 0; j < NR; ++j)
                edge[m * NR + j] = (m < m_valid && j < n_valid && accumulate) ? c[m * ldc + j] : T(0);
        dst = edge;
        ld = NR;
    }
    Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            if (accumulate) acc[m][v] = load_vec<Vec>(dst + m * ld + v * L);
            else acc[m][v] = Vec{} + ((row_init && m < m_valid) ? row_init[m] : T(0));
        }
    for (int64_t i = 0; i < kc; ++i) {
        Vec bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) bv[v] = load_vec<Vec>(b + i * NR + v * L);
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
            const Vec am = broadcast<Vec>(a + i * MR + m);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) acc[m][v] += am * bv[v];
        }
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) store_vec(dst + m * ld + v * L, acc[m][v]);
    if (!full) {
        for (int m = 0; m < m_valid; ++m)
            for (int j = 0; j < n_valid; ++j) c[m * ldc + j] = edge[m * NR + j];
    }
}

}  // namespace conv_circuits
