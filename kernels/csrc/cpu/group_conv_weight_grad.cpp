// group_conv_weight_grad.cpp: fused p4 / p4m lifting and group convolution on the CPU, the gradients
// with respect to the weight and the bias.
//
// As a product on the flattened geometry of group_conv_cpu.h (B the im2col matrix of one image):
//   dE[row, crs] = sum_{n, pq} dY[row, pq] * B[crs, pq],   then   dw[entry of w read by E[row, crs]] += dE
// A register tile of dE is finished in registers and added straight into dw through the group tables:
// that addition is the sum over the G tied copies of every parameter. B is read from the zero-padded
// phase planes of the image (group_conv_flat.h) at any stride, dY transposed to (pixel, channel); or,
// with few output channels and few columns, dY read in place by dot_tile (group_conv_tile.h: every
// accumulator a vector of pixels, summed across its lanes at the end), where the transpose would cost
// more than it saves.
//
// Work split: (chunk of images, block of input channels i). Each chunk of images accumulates into its
// own copy of dw (summed at the end); within a chunk the blocks touch disjoint parts of dw (a column
// (c, t) with c = i*Gin + h only ever lands in dw[:, i]). An item takes its images one at a time, so
// that the image's planes and transposed dY stay in the L2 cache.
// The bias gradient db[o] is a plain sum over n, g, p, q.
#include "group_conv_flat.h"

#include <algorithm>
#include <memory>
#include <vector>

namespace conv_circuits {

using namespace group_conv_detail;

namespace {

// dE[row, (c, r, s)] = sum_{n, p, q} dY[n, row, p, q] * padded[n, c][(p, q) + offset[c, r, s]] in the phase
// layout (any stride). A tile has MR columns (c, r, s) of dE as rows, read straight from the phase planes,
// and NR output channels as columns, read from dY transposed to (pixel, channel) so that NR channels of
// one pixel are contiguous. A work item runs through its images one at a time (the image's planes and
// transposed dY stay in L2 while every column tile of the item uses them) and adds each finished tile
// into dw through the tables. Tile shape MR x NV vectors: FlatTile's when there are enough output
// channels to fill its wider rows, else Tile's.
template <typename T, int MR, int NV>
void weight_grad_flat_tiled(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* x, T* dw,
                            bool dot) {
    constexpr int NR = Tile<T>::L * NV;
    const Conv2dGeometry& g = gg.conv;
    const int64_t kk = gg.k * gg.k, M = g.K, PQ = g.PQ(), Gin = gg.group_in, G = gg.order, units = g.C / Gin;
    const PhaseLayout lay(g.H, g.W, g.ph, g.pw, gg.k, g.sh, g.sw, g.P, g.Q);
    const int64_t image = g.C * lay.per_channel, Mp = ceil_div(M, NR) * NR;
    std::unique_ptr<T[]> padded(new T[g.N * image + lay.slack()]);
    std::fill(padded.get() + g.N * image, padded.get() + g.N * image + lay.slack(), T(0));
    at::parallel_for(0, g.N * g.C, grain(double(lay.per_channel), MIN_TASK_COPIES), [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) pad_plane(lay, x + nc * g.H * g.W, padded.get() + nc * lay.per_channel);
    });
    const std::vector<int64_t> offset = tap_offsets(lay, g.C, gg.k);

    // Work items: (chunk of images, block of input channels i). A small lifting layer (few columns per i,
    // a small dw): one block, the batch cut into more chunks instead.
    const int64_t threads = at::get_num_threads(), J = Mp / NR, weight_numel = (M / G) * g.C * kk;
    const bool by_images = Gin == 1 && weight_numel <= (1 << 16);
    const int64_t wanted_chunks = (by_images && threads > 1) ? 4 * threads : threads;
    const int64_t chunk = ceil_div(g.N, std::min<int64_t>(g.N, wanted_chunks)), n_chunks = ceil_div(g.N, chunk);
    // (Each block of an image transposes the image's dY again: one thread takes one block.)
    const int64_t i_blocks = (by_images || threads == 1) ? 1
                                                         : std::min<int64_t>(units, std::max<int64_t>(1, ceil_div(4 * threads, n_chunks)));
    const int64_t per_block = ceil_div(units, i_blocks);
    std::vector<T> partial((n_chunks - 1) * weight_numel, T(0));
    std::fill(dw, dw + weight_numel, T(0));

    // Few output channels (dot): dot_tile, dY read in place (rows padded to whole segments when Q is not
    // a multiple of L) instead of transposed, whose cost the few channels would not repay.
    constexpr int L = Tile<T>::L, RO = kDotRows, CO = kDotCols;
    const int64_t segments = ceil_div(g.Q, L), tail = g.Q - (segments - 1) * L;
    auto dot_image = [&](const T* x_n, const T* dy_n, T* out, int64_t col_begin, int64_t col_end, T* dy_pad) {
        const T* dy_src = dy_n;
        int64_t dy_step = g.Q;
        if (tail < L) {
            dy_step = segments * L;
            for (int64_t row = 0; row < M * g.P; ++row) {
                std::copy(dy_n + row * g.Q, dy_n + (row + 1) * g.Q, dy_pad + row * dy_step);
                std::fill(dy_pad + row * dy_step + g.Q, dy_pad + (row + 1) * dy_step, T(0));
            }
            dy_src = dy_pad;
        }
        const T* x_rows[CO];
        const T* dy_rows[RO];
        int64_t column[CO][8];  // column[c][e]: where E[o*G + e, col0 + c] lies in w[o]
        T sums[RO * CO];
        for (int64_t col0 = col_begin; col0 < col_end; col0 += CO) {
            const int c_valid = int(std::min<int64_t>(CO, col_end - col0));
            for (int c = 0; c < CO; ++c) x_rows[c] = x_n + offset[col0 + std::min(c, c_valid - 1)];
            for (int c = 0; c < c_valid; ++c) {
                const int64_t ch = (col0 + c) / kk, t = (col0 + c) % kk, h = ch % Gin;
                for (int64_t e = 0; e < G; ++e) column[c][e] = (ch - h + tables.channel[e * Gin + h]) * kk + tables.tap[e * kk + t];
            }
            for (int64_t row0 = 0; row0 < M; row0 += RO) {
                const int r_valid = int(std::min<int64_t>(RO, M - row0));
                for (int r = 0; r < RO; ++r) dy_rows[r] = dy_src + (row0 + std::min(r, r_valid - 1)) * g.P * dy_step;
                dot_tile<T, RO, CO>(g.P, segments, int(tail), dy_rows, dy_step, x_rows, lay.Ws, sums);
                for (int r = 0; r < r_valid; ++r) {  // add into dw through the tables: the sum over the tied copies
                    const int64_t row = row0 + r, o = row / G, e = row % G;
                    T* w_o = out + o * g.C * kk;
                    for (int c = 0; c < c_valid; ++c) w_o[column[c][e]] += sums[r * CO + c];
                }
            }
        }
    };

    const double item_flops = 2.0 * chunk * per_block * Gin * kk * Mp * PQ;
    at::parallel_for(0, n_chunks * i_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        T tile[MR * NR];
        const T* rows[MR];
        // dy_t[(jp*PQ + pq)*NR + j] = dY[n, jp*NR + j, pq] (zero for channels >= M), one image at a time: the
        // panel of NR output channels that a tile reads is one sequential stream.
        std::unique_ptr<T[]> dy_t(new T[dot ? 0 : J * PQ * NR]);
        std::unique_ptr<T[]> dy_rows_padded(new T[dot && tail < L ? M * g.P * segments * L : 0]);
        int64_t column[MR][8];  // column[m][g]: where E[o*G + g, col0 + m] lies in w[o]
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ch = item / i_blocks, i0 = (item % i_blocks) * per_block, i1 = std::min(units, i0 + per_block);
            if (i0 >= i1) continue;
            T* out = ch == 0 ? dw : partial.data() + (ch - 1) * weight_numel;
            const int64_t col_end = i1 * Gin * kk;
            for (int64_t n = ch * chunk; n < std::min(g.N, (ch + 1) * chunk); ++n) {
                const T* x_n = padded.get() + n * image;
                if (dot) {
                    dot_image(x_n, dy + n * M * PQ, out, i0 * Gin * kk, col_end, dy_rows_padded.get());
                    continue;
                }
                for (int64_t jp = 0; jp < J; ++jp) {
                    const int64_t j0 = jp * NR, channels = std::min<int64_t>(NR, M - j0);
                    T* dst = dy_t.get() + jp * PQ * NR;
                    const T* src = dy + (n * M + j0) * PQ;
                    if (channels < NR) std::fill(dst, dst + PQ * NR, T(0));
                    // 4 channels at a time: 4 read streams (planes often lie 4 KiB apart, the same L1 set)
                    for (int64_t jb = 0; jb < channels; jb += 4) {
                        const int64_t width = std::min<int64_t>(4, channels - jb);
                        for (int64_t pq = 0; pq < PQ; ++pq)
                            for (int64_t j = jb; j < jb + width; ++j) dst[pq * NR + j] = src[j * PQ + pq];
                    }
                }
                for (int64_t col0 = i0 * Gin * kk; col0 < col_end; col0 += MR) {
                    const int m_valid = int(std::min<int64_t>(MR, col_end - col0));
                    for (int m = 0; m < MR; ++m) rows[m] = x_n + offset[col0 + std::min(m, m_valid - 1)];
                    for (int m = 0; m < m_valid; ++m) {
                        const int64_t c = (col0 + m) / kk, t = (col0 + m) % kk, h = c % Gin;
                        for (int64_t e = 0; e < G; ++e)
                            column[m][e] = (c - h + tables.channel[e * Gin + h]) * kk + tables.tap[e * kk + t];
                    }
                    for (int64_t j0 = 0; j0 < M; j0 += NR) {
                        std::fill(tile, tile + MR * NR, T(0));
                        rows_tile<T, MR, NV>(g.P, g.Q, lay.Ws, rows, dy_t.get() + (j0 / NR) * PQ * NR, tile);
                        const int n_valid = int(std::min<int64_t>(NR, M - j0));
                        for (int j = 0; j < n_valid; ++j) {  // add into dw through the tables: the sum over the tied copies
                            const int64_t row = j0 + j, o = row / G, e = row % G;
                            T* w_o = out + o * g.C * kk;
                            for (int m = 0; m < m_valid; ++m) w_o[column[m][e]] += tile[m * NR + j];
                        }
                    }
                }
            }
        }
    });
    if (n_chunks > 1) {
        at::parallel_for(0, weight_numel, 1 << 16, [&](int64_t begin, int64_t end) {
            for (int64_t ch = 1; ch < n_chunks; ++ch) {
                const T* src = partial.data() + (ch - 1) * weight_numel;
                for (int64_t i = begin; i < end; ++i) dw[i] += src[i];
            }
        });
    }
}

template <typename T>
void weight_grad_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* x, T* dw) {
    // Measured on AVX-512 (2 cores): dot_tile is 1.2x faster with 32 output channels and 75 columns (a
    // 3-channel 5x5 conv2d), 0.66-0.91x on the p4 / p4m benchmark layers (64 channels, or 288+ columns).
    const bool dot = gg.conv.K <= 32 && gg.conv.C * gg.k * gg.k <= 100;
    if (gg.conv.K >= FlatTile<T>::NR)
        weight_grad_flat_tiled<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, dy, x, dw, dot);
    else
        weight_grad_flat_tiled<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, dy, x, dw, dot);
}

// db[o] = sum over n, g, p, q of dy[n, o, g, p, q].
template <typename T>
void bias_grad(const GroupConvGeometry& gg, const T* dy, T* db) {
    const Conv2dGeometry& g = gg.conv;
    const int64_t cout = g.K / gg.order, plane = gg.order * g.PQ();  // dy[n, o] is G*P*Q contiguous values
    at::parallel_for(0, cout, grain(double(g.N * plane), MIN_TASK_COPIES), [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            T lanes[16] = {};  // 16 running sums, so the additions vectorise
            T total = 0;
            for (int64_t n = 0; n < g.N; ++n) {
                const T* values = dy + (n * cout + o) * plane;
                int64_t i = 0;
                for (; i + 16 <= plane; i += 16)
                    for (int l = 0; l < 16; ++l) lanes[l] += values[i + l];
                for (; i < plane; ++i) total += values[i];
            }
            for (int l = 0; l < 16; ++l) total += lanes[l];
            db[o] = total;
        }
    });
}

}  // namespace

template <typename T>
void group_conv_weight_grad_packed(const GroupConvGeometry& gg, const T* dy, const T* x, T* dw, T* db) {
    const Conv2dGeometry& g = gg.conv;
    if (g.N == 0) {  // an empty batch: the gradients are sums of nothing
        std::fill(dw, dw + (g.K / gg.order) * g.C * gg.k * gg.k, T(0));
        if (db) std::fill(db, db + g.K / gg.order, T(0));
        return;
    }
    const GroupTables tables(gg);
    weight_grad_flat(gg, tables, dy, x, dw);
    if (db) bias_grad(gg, dy, db);
}

template void group_conv_weight_grad_packed<float>(const GroupConvGeometry&, const float*, const float*, float*, float*);
template void group_conv_weight_grad_packed<double>(const GroupConvGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
