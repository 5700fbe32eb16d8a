// conv2d_packed.cpp: the fast CPU path, conv2d as a matrix product over packed tiles.
//
// Which engine runs: a square kernel at dilation 1 with one group (most layers) is the group convolution
// of the trivial group (order 1, E = W), so it goes to the flat engine of the group convolutions
// (group_conv_{forward,input_grad,weight_grad}.cpp over group_conv_flat.h): its register tiles read the
// zero-padded image in place, with no im2col copy (a 1x1 convolution at stride 1 without padding as one
// row of H*W pixels: a plain matrix product). Depthwise calls go to conv2d_depthwise.cpp. Everything
// else (non-square kernels, dilation, groups > 1) runs the packed path of this file:
// Index map. Per image n and group g the convolution is one matrix product
//     Y[k, pq] = b[k] + sum_{crs} A[k, crs] * B[crs, pq]
//   rows k < Kg (output channels), columns pq < P*Q (output pixels, pq = p*Q + q),
//   reduction crs = (c*R + r)*S + s < Cg*R*S, with
//     A[k, crs]  = W[g*Kg + k, c, r, s]                      (the weights, a plain reshape)
//     B[crs, pq] = x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]   (zero outside the image)
// B is the im2col matrix; it is never stored whole. The work is cut into tiles:
//   a work item owns one panel of NR output pixels of one (n, g) (and, for small batches, a
//   block of its output channels) and packs just the
//   Cg*R*S x NR slice of B it needs ("input patches"); each MR x NR tile of Y is then an
//   inner product over crs done in registers by micro_tile (micro_tile.h), the reduction cut
//   into blocks of KC so the packed B block stays in the L1 cache while A streams from L2.
// Backward uses the same engine on two other products:
//   input grad:  dB[crs, pq] = sum_k A[k, crs] * dY[k, pq], then dx = col2im(dB): every
//                (crs, pq) entry is added back to the input pixel it was read from.
//                A work item owns (n, g, a block of input channels), so no two threads add
//                to the same dx element.
//   weight grad: dA[k, crs] = sum_{n, pq} dY[k, pq] * B[crs, pq]: rows k, columns crs,
//                reduction over pixels. The batch is split into one chunk of images per
//                thread, each accumulating into its own copy of dA (summed at the end), and
//                a work item owns a block of NR-column panels of its chunk's copy.
// Work items are spread over threads with at::parallel_for. Depthwise convolutions (nothing to
// reuse across output channels) go to conv2d_depthwise.cpp instead.
#include "conv2d_cpu.h"
#include "group_conv_cpu.h"
#include "micro_tile.h"
#include "pixel_runs.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace conv_circuits {

namespace {

// B[crs, j] for the NR pixels of a panel: packed[crs*NR + j]. x_ng points at x[n, g*Cg].
// Pixels past the end of the image (j >= n_valid) are zero.
template <typename T, int NR>
void pack_input_patches(const Conv2dGeometry& g, const T* x_ng, int64_t pq0, int n_valid, T* packed) {
    PixelRun runs[NR];
    const int n_runs = split_into_runs(g, pq0, n_valid, runs);
    for (int64_t c = 0; c < g.Cg(); ++c) {
        const T* plane = x_ng + c * g.H * g.W;
        for (int64_t r = 0; r < g.R; ++r) {
            for (int64_t s = 0; s < g.S; ++s) {
                gather_patch_row(g, plane, runs, n_runs, r, s, packed, 1);
                for (int j = n_valid; j < NR; ++j) packed[j] = T(0);
                packed += NR;
            }
        }
    }
}

// A square kernel, dilation 1 and one group: conv2d is the group convolution of the trivial group
// (order 1: E = W), whose flat engine reads the padded image in place (group_conv_flat.h).
bool flat_case(const Conv2dGeometry& g) { return g.groups == 1 && g.R == g.S && g.dh == 1 && g.dw == 1; }
GroupConvGeometry trivial_group(const Conv2dGeometry& g) {
    GroupConvGeometry gg;
    gg.conv = g;
    if (g.R == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0) {
        // A 1x1 convolution at stride 1 without padding is a matrix product over the pixels: the image
        // as one row of H*W pixels, so that the register tiles run across row ends.
        gg.conv.W = gg.conv.Q = g.H * g.W;
        gg.conv.H = gg.conv.P = 1;
    }
    gg.order = 1;
    gg.group_in = 1;
    gg.k = g.R;
    return gg;
}

}  // namespace

template <typename T>
void conv2d_forward_packed(const Conv2dGeometry& g, const T* x, const T* W, const T* b, T* y) {
    if (is_depthwise(g)) return conv2d_forward_depthwise(g, x, W, b, y);
    if (flat_case(g)) return group_conv_forward_packed(trivial_group(g), x, W, b, y);
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const int64_t KC = 256;
    const int64_t Cg = g.Cg(), Kg = g.Kg(), CRS = g.CRS(), PQ = g.PQ();
    const int64_t m_panels = ceil_div(Kg, MR), n_panels = ceil_div(PQ, NR);

    // A packed once, shared by all threads: per group and panel of MR rows, [crs][MR].
    std::vector<T> a_packed(g.groups * m_panels * CRS * MR, T(0));
    at::parallel_for(0, g.groups * m_panels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t gm = begin; gm < end; ++gm) {
            const int64_t group = gm / m_panels, mp = gm % m_panels;
            T* dst = a_packed.data() + gm * CRS * MR;
            for (int m = 0; m < MR && mp * MR + m < Kg; ++m) {
                const T* row = W + (group * Kg + mp * MR + m) * CRS;
                for (int64_t crs = 0; crs < CRS; ++crs) dst[crs * MR + m] = row[crs];
            }
        }
    });

    // Work items: (n, g, pixel panel, block of output-channel panels). Small batches have few
    // pixel panels, so the output channels are split too until every thread has a few items.
    const int64_t panels = g.N * g.groups * n_panels;
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * at::get_num_threads(), panels)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);
    at::parallel_for(0, panels * m_blocks, 1, [&](int64_t begin, int64_t end) {
        std::vector<T> b_packed(CRS * NR);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t panel = item / m_blocks, mb = item % m_blocks;
            const int64_t n = panel / (g.groups * n_panels), group = (panel / n_panels) % g.groups;
            const int64_t pq0 = (panel % n_panels) * NR;
            const int64_t mp_begin = mb * m_per_block, mp_end = std::min(m_panels, mp_begin + m_per_block);
            const int n_valid = int(std::min<int64_t>(NR, PQ - pq0));
            pack_input_patches<T, NR>(g, x + (n * g.C + group * Cg) * g.H * g.W, pq0, n_valid, b_packed.data());
            for (int64_t kc0 = 0; kc0 < CRS; kc0 += KC) {
                const int64_t kc = std::min(KC, CRS - kc0);
                for (int64_t mp = mp_begin; mp < mp_end; ++mp) {
                    const int64_t k0 = group * Kg + mp * MR;
                    micro_tile<T>(kc, a_packed.data() + ((group * m_panels + mp) * CRS + kc0) * MR,
                                  b_packed.data() + kc0 * NR, y + (n * g.K + k0) * PQ + pq0, PQ,
                                  b ? b + k0 : nullptr, kc0 > 0, int(std::min<int64_t>(MR, Kg - mp * MR)), n_valid);
                }
            }
        }
    });
}

template <typename T>
void conv2d_input_grad_packed(const Conv2dGeometry& g, const T* dy, const T* W, T* dx) {
    if (is_depthwise(g)) return conv2d_input_grad_depthwise(g, dy, W, dx);
    if (flat_case(g)) return group_conv_input_grad_packed(trivial_group(g), dy, W, dx);
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const int64_t KC = 256;
    const int64_t Cg = g.Cg(), Kg = g.Kg(), CRS = g.CRS(), PQ = g.PQ(), RS = g.R * g.S;
    const int64_t n_panels = ceil_div(PQ, NR);
    // Enough channel blocks per (n, g) to give every thread several work items.
    const int64_t wanted = 4 * at::get_num_threads();
    const int64_t c_blocks = std::min<int64_t>(Cg, std::max<int64_t>(1, ceil_div(wanted, g.N * g.groups)));
    const int64_t cb = ceil_div(Cg, c_blocks);

    at::parallel_for(0, g.N * g.groups * c_blocks, 1, [&](int64_t begin, int64_t end) {
        std::vector<T> a_packed(ceil_div(cb * RS, MR) * MR * Kg), b_packed(Kg * NR), d_patches(ceil_div(cb * RS, MR) * MR * NR);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t n = item / (g.groups * c_blocks), group = (item / c_blocks) % g.groups;
            const int64_t c0 = (item % c_blocks) * cb, c1 = std::min(Cg, c0 + cb);
            if (c0 >= c1) continue;
            const int64_t rows = (c1 - c0) * RS, m_panels = ceil_div(rows, MR);
            // A^T for rows crs in [c0*RS, c1*RS): per panel of MR rows, [k][MR].
            std::fill(a_packed.begin(), a_packed.end(), T(0));
            for (int64_t k = 0; k < Kg; ++k) {
                const T* w_row = W + (group * Kg + k) * CRS + c0 * RS;
                for (int64_t i = 0; i < rows; ++i) a_packed[((i / MR) * Kg + k) * MR + i % MR] = w_row[i];
            }
            T* dx_ng = dx + (n * g.C + group * Cg) * g.H * g.W;
            std::fill(dx_ng + c0 * g.H * g.W, dx_ng + c1 * g.H * g.W, T(0));
            const T* dy_ng = dy + (n * g.K + group * Kg) * PQ;
            for (int64_t jp = 0; jp < n_panels; ++jp) {
                const int64_t pq0 = jp * NR;
                const int n_valid = int(std::min<int64_t>(NR, PQ - pq0));
                for (int64_t k = 0; k < Kg; ++k)
                    for (int j = 0; j < NR; ++j) b_packed[k * NR + j] = j < n_valid ? dy_ng[k * PQ + pq0 + j] : T(0);
                for (int64_t kc0 = 0; kc0 < Kg; kc0 += KC) {
                    const int64_t kc = std::min(KC, Kg - kc0);
                    for (int64_t mp = 0; mp < m_panels; ++mp)
                        micro_tile<T>(kc, a_packed.data() + (mp * Kg + kc0) * MR, b_packed.data() + kc0 * NR,
                                      d_patches.data() + mp * MR * NR, NR, nullptr, kc0 > 0, MR, NR);
                }
                // col2im: add each patch entry back to the input pixel it came from.
                PixelRun runs[NR];
                const int n_runs = split_into_runs(g, pq0, n_valid, runs);
                for (int64_t i = 0; i < rows; ++i) {
                    const int64_t crs = c0 * RS + i, c = crs / RS, r = (crs / g.S) % g.R, s = crs % g.S;
                    scatter_patch_row(g, dx_ng + c * g.H * g.W, runs, n_runs, r, s, d_patches.data() + i * NR);
                }
            }
        }
    });
}

template <typename T>
void conv2d_weight_grad_packed(const Conv2dGeometry& g, const T* dy, const T* x, T* dW, T* db) {
    if (is_depthwise(g)) return conv2d_weight_grad_depthwise(g, dy, x, dW, db);
    if (flat_case(g)) return group_conv_weight_grad_packed(trivial_group(g), dy, x, dW, db);
    if (g.N == 0) {  // an empty batch: the gradients are sums of nothing
        std::fill(dW, dW + g.K * g.CRS(), T(0));
        if (db) std::fill(db, db + g.K, T(0));
        return;
    }
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const int64_t KC = 256;
    const int64_t Cg = g.Cg(), Kg = g.Kg(), CRS = g.CRS(), PQ = g.PQ(), RS = g.R * g.S;
    const int64_t m_panels = ceil_div(Kg, MR), col_panels = ceil_div(CRS, NR);
    // Work items: (chunk of images, group, block of column panels). The packed dY block (A)
    // serves every column panel of an item, so items take as many panels as they can while
    // still giving each thread a few items; the batch is split first (private accumulators).
    const int64_t threads = at::get_num_threads(), wanted = 4 * threads;
    const int64_t n_chunks = std::min<int64_t>(g.N, threads);
    const int64_t col_blocks = std::min<int64_t>(col_panels, std::max<int64_t>(1, ceil_div(wanted, n_chunks * g.groups)));
    const int64_t panels_per_block = ceil_div(col_panels, col_blocks);
    const int64_t chunk = ceil_div(g.N, n_chunks);
    const int64_t weight_numel = g.K * CRS;

    // Chunk 0 accumulates into dW itself, the others into private copies.
    std::vector<T> partial((n_chunks - 1) * weight_numel, T(0));
    std::fill(dW, dW + weight_numel, T(0));

    at::parallel_for(0, n_chunks * g.groups * col_blocks, 1, [&](int64_t begin, int64_t end) {
        std::vector<T> a_packed(m_panels * KC * MR, T(0)), b_packed(KC * NR);
        std::vector<PixelRun> runs(KC);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ch = item / (g.groups * col_blocks), group = (item / col_blocks) % g.groups;
            const int64_t panel_begin = (item % col_blocks) * panels_per_block;
            const int64_t panel_end = std::min(col_panels, panel_begin + panels_per_block);
            T* out_g = (ch == 0 ? dW : partial.data() + (ch - 1) * weight_numel) + group * Kg * CRS;
            for (int64_t n = ch * chunk; n < std::min(g.N, (ch + 1) * chunk); ++n) {
                const T* x_ng = x + (n * g.C + group * Cg) * g.H * g.W;
                const T* dy_ng = dy + (n * g.K + group * Kg) * PQ;
                for (int64_t pq0 = 0; pq0 < PQ; pq0 += KC) {
                    const int64_t kc = std::min(KC, PQ - pq0);
                    for (int64_t k = 0; k < Kg; ++k) {
                        T* a = a_packed.data() + (k / MR) * KC * MR + k % MR;
                        const T* dy_row = dy_ng + k * PQ + pq0;
                        for (int64_t i = 0; i < kc; ++i) a[i * MR] = dy_row[i];
                    }
                    const int n_runs = split_into_runs(g, pq0, kc, runs.data());
                    for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
                        const int64_t col0 = panel * NR;
                        const int n_valid = int(std::min<int64_t>(NR, CRS - col0));
                        for (int j = 0; j < NR; ++j) {
                            const int64_t crs = col0 + j, c = crs / RS, r = (crs / g.S) % g.R, s = crs % g.S;
                            if (j < n_valid)
                                gather_patch_row(g, x_ng + c * g.H * g.W, runs.data(), n_runs, r, s, b_packed.data() + j, NR);
                            else
                                for (int64_t i = 0; i < kc; ++i) b_packed[i * NR + j] = T(0);
                        }
                        for (int64_t mp = 0; mp < m_panels; ++mp)
                            micro_tile<T>(kc, a_packed.data() + mp * KC * MR, b_packed.data(),
                                          out_g + mp * MR * CRS + col0, CRS, nullptr, true,
                                          int(std::min<int64_t>(MR, Kg - mp * MR)), n_valid);
                    }
                }
            }
        }
    });

    if (n_chunks > 1) {
        at::parallel_for(0, weight_numel, 4096, [&](int64_t begin, int64_t end) {
            for (int64_t ch = 1; ch < n_chunks; ++ch) {
                const T* src = partial.data() + (ch - 1) * weight_numel;
                for (int64_t i = begin; i < end; ++i) dW[i] += src[i];
            }
        });
    }
    if (db) {
        at::parallel_for(0, g.K, 1, [&](int64_t begin, int64_t end) {
            for (int64_t k = begin; k < end; ++k) {
                T lanes[16] = {};  // 16 running sums, so the additions vectorise
                T acc = 0;
                for (int64_t n = 0; n < g.N; ++n) {
                    const T* row = dy + (n * g.K + k) * PQ;
                    int64_t pq = 0;
                    for (; pq + 16 <= PQ; pq += 16)
                        for (int l = 0; l < 16; ++l) lanes[l] += row[pq + l];
                    for (; pq < PQ; ++pq) acc += row[pq];
                }
                for (int l = 0; l < 16; ++l) acc += lanes[l];
                db[k] = acc;
            }
        });
    }
}

template void conv2d_forward_packed<float>(const Conv2dGeometry&, const float*, const float*, const float*, float*);
template void conv2d_forward_packed<double>(const Conv2dGeometry&, const double*, const double*, const double*, double*);
template void conv2d_input_grad_packed<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void conv2d_input_grad_packed<double>(const Conv2dGeometry&, const double*, const double*, double*);
template void conv2d_weight_grad_packed<float>(const Conv2dGeometry&, const float*, const float*, float*, float*);
template void conv2d_weight_grad_packed<double>(const Conv2dGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
