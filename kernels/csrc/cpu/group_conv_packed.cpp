// group_conv_packed.cpp: fused p4 / p4m lifting and group convolution on the CPU, forward and backward.
//
// The three products are those of conv2d_packed.cpp, on the flattened geometry of group_conv_cpu.h:
//   forward      Y[row, pq]  = b[o] + sum_crs E[row, crs] * B[crs, pq]        row = o*G + g
//   input grad   dB[crs, pq] = sum_row E[row, crs] * dY[row, pq], then dx = col2im(dB)
//   weight grad  dE[row, crs] = sum_{n, pq} dY[row, pq] * B[crs, pq], then dw[entry of w read by E[row, crs]] += dE
// where B is the im2col matrix of one image (crs = c*k*k + t) and E the expanded filter bank.
//
// E is never stored. Where a product needs E as an operand, a work item gathers one MR x KC panel of
// it at a time, entry by entry from w through the group tables (GroupTables: a pixel map and a
// group-axis permutation per element), into a small buffer, and uses it for all the pixel panels it
// owns before gathering the next one: the gather costs about one load per MR x NR multiply-adds. The
// weight gradient finishes a small tile of dE in registers and adds it straight into dw through the
// same tables: that addition is the sum over the G tied copies.
//
// Two ways to feed B to the register tiles (group_conv_tile.h):
//   stride 1 ("flat"): an image is zero-padded once to Hp x Wp planes and the output pixels are
//       numbered p*Wp + q; then the im2col row (c, r, s) of NR consecutive outputs is NR consecutive
//       padded inputs, at offset c*Hp*Wp + r*Wp + s. No im2col copy at all; the surplus columns
//       q >= Q are computed and dropped. The input gradient is then itself a stride-1 correlation
//       (of dY padded by k-1-padding, with E transposed and turned by 180°), and the weight gradient
//       reads A straight from the padded planes and B from dY transposed to (pixel, channel).
//   any stride ("im2col"): a work item packs the im2col panels it needs (as conv2d_packed.cpp does),
//       and the input gradient adds its patches back with col2im.
//
// Work split (at::parallel_for; calls with little work stay on one thread, see grain()):
//   forward, flat input grad  (image, block of pixel panels, block of output-channel panels)
//   im2col input grad         (image, block of input channels): col2im adds into neighbouring pixels,
//                             so a work item owns its dx planes
//   weight grad               (chunk of images, block of input channels i): each chunk of images
//                             accumulates into its own copy of dw (summed at the end); within a chunk
//                             the blocks touch disjoint parts of dw (a column (c, t) with c = i*Gin + h
//                             only ever lands in dw[:, i]).
#include "group_conv_cpu.h"
#include "group_conv_tile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace conv_circuits {

using namespace group_conv_detail;

namespace {

constexpr int64_t FORWARD_KC = 256;    // reduction block: the packed B slice of a block of panels stays in L2
constexpr int64_t FORWARD_NB = 8;      // im2col path: pixel panels that share one gathered weight panel
constexpr int64_t FLAT_KC = 512;      // stride-1 path: reduction block (the gathered panel of A stays in L1)
constexpr int64_t BACKWARD_KC = 256;   // input grad: output channels per block
constexpr int64_t WEIGHT_KC = 128;     // weight grad: pixels per block (the packed B panel stays in L1)

// Smallest task worth a thread: starting and joining a parallel region costs microseconds (much more
// on a busy machine), so small calls run on one thread. grain(work per item) is the number of work
// items of one task, for at::parallel_for (which runs a range shorter than its grain serially).
constexpr double MIN_TASK_FLOPS = 1e7;   // ~0.1 ms of multiply-adds
constexpr double MIN_TASK_COPIES = 1 << 18;
int64_t grain(double work_per_item, double min_work = MIN_TASK_FLOPS) {
    return std::max<int64_t>(1, int64_t(min_work / std::max(1.0, work_per_item)));
}

// a[i*MR + m] = E[row0 + m, crs0 + i] for i < kc, m < m_valid (rows past m_valid are zero).
template <typename T, int MR>
void gather_filter_panel(const GroupConvGeometry& gg, const GroupTables& tables, const T* w, int64_t row0, int m_valid,
                         int64_t crs0, int64_t kc, T* a) {
    const int64_t kk = gg.k * gg.k, Gin = gg.group_in, C = gg.conv.C;
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) {
            for (int64_t i = 0; i < kc; ++i) a[i * MR + m] = T(0);
            continue;
        }
        const int64_t row = row0 + m, o = row / gg.order, g = row % gg.order;
        const int32_t* tap = tables.tap.data() + g * kk;
        const int32_t* channel = tables.channel.data() + g * Gin;
        const T* w_o = w + o * C * kk;
        int64_t c = crs0 / kk, t = crs0 % kk;
        const T* w_c = w_o + (c - c % Gin + channel[c % Gin]) * kk;
        for (int64_t i = 0; i < kc; ++i) {
            a[i * MR + m] = w_c[tap[t]];
            if (++t == kk && i + 1 < kc) {
                t = 0;
                ++c;
                w_c = w_o + (c - c % Gin + channel[c % Gin]) * kk;
            }
        }
    }
}

// a[i*MR + m] = E[row0 + i, crs0 + m] for i < kc, m < m_valid: the transposed panel (input gradient).
template <typename T, int MR>
void gather_filter_panel_transposed(const GroupConvGeometry& gg, const GroupTables& tables, const T* w, int64_t row0,
                                    int64_t kc, int64_t crs0, int m_valid, T* a) {
    const int64_t kk = gg.k * gg.k, Gin = gg.group_in, G = gg.order, C = gg.conv.C;
    int64_t column[8];  // per element g: where E[o*G + g, crs] sits in w[o]
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) {
            for (int64_t i = 0; i < kc; ++i) a[i * MR + m] = T(0);
            continue;
        }
        const int64_t crs = crs0 + m, c = crs / kk, t = crs % kk, h = c % Gin;
        for (int64_t g = 0; g < G; ++g) column[g] = (c - h + tables.channel[g * Gin + h]) * kk + tables.tap[g * kk + t];
        int64_t o = row0 / G, g = row0 % G;
        for (int64_t i = 0; i < kc; ++i) {
            a[i * MR + m] = w[o * C * kk + column[g]];
            if (++g == G) {
                g = 0;
                ++o;
            }
        }
    }
}

// --- the stride-1 fast path: "flat" images, no im2col ---------------------------------------------
// With stride 1, zero-pad every input plane once into a buffer of Hp x Wp planes. Number the output
// pixels by their place in that padded plane, f = p*Wp + q (columns q >= Q are surplus and dropped).
// Then the im2col entry (c, r, s) of output pixel f is padded[c][f + r*Wp + s]: NR consecutive
// outputs read NR consecutive inputs. So B needs no packing at all: its row (c, r, s) for a panel of
// pixels starting at f0 is the padded plane itself, from f0 + offset[c, r, s].

template <typename T>
struct PaddedPlanes {
    std::unique_ptr<T[]> data;
    int64_t Hp, Wp, plane;
};

// planes of H x W with `top`/`left` zeros before and enough after to make Hp x Wp, plus `slack` zeros at the end.
template <typename T>
PaddedPlanes<T> pad_planes(const T* src, int64_t planes, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp,
                           int64_t Wp, int64_t slack) {
    PaddedPlanes<T> out{std::unique_ptr<T[]>(new T[planes * Hp * Wp + slack]), Hp, Wp, Hp * Wp};
    T* dst = out.data.get();
    std::fill(dst + planes * Hp * Wp, dst + planes * Hp * Wp + slack, T(0));
    at::parallel_for(0, planes, grain(double(Hp * Wp), MIN_TASK_COPIES), [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
            T* d = dst + c * Hp * Wp;
            const T* s = src + c * H * W;
            std::fill(d, d + top * Wp, T(0));
            for (int64_t h = 0; h < H; ++h) {
                T* row = d + (top + h) * Wp;
                std::fill(row, row + left, T(0));
                std::copy(s + h * W, s + (h + 1) * W, row + left);
                std::fill(row + left + W, row + Wp, T(0));
            }
            std::fill(d + (top + H) * Wp, d + Hp * Wp, T(0));
        }
    });
    return out;
}

// One image's planes, padded as pad_planes does, into dst (Hp*Wp per plane; the caller leaves slack after).
template <typename T>
void pad_image(const T* src, int64_t planes, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp, int64_t Wp,
               T* dst) {
    for (int64_t c = 0; c < planes; ++c) {
        T* d = dst + c * Hp * Wp;
        const T* s = src + c * H * W;
        std::fill(d, d + top * Wp, T(0));
        for (int64_t h = 0; h < H; ++h) {
            T* row = d + (top + h) * Wp;
            std::fill(row, row + left, T(0));
            std::copy(s + h * W, s + (h + 1) * W, row + left);
            std::fill(row + left + W, row + Wp, T(0));
        }
        std::fill(d + (top + H) * Wp, d + Hp * Wp, T(0));
    }
}

// offset[(c*k + r)*k + s] = c*plane + r*Wp + s.
inline std::vector<int64_t> tap_offsets(int64_t channels, int64_t k, int64_t plane, int64_t Wp) {
    std::vector<int64_t> offset(channels * k * k);
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t r = 0; r < k; ++r)
            for (int64_t s = 0; s < k; ++s) offset[(c * k + r) * k + s] = c * plane + r * Wp + s;
    return offset;
}

// y[n, m, p, q] = bias_of(m) + sum_{c, r, s} A[m, (c*k + r)*k + s] * padded[n, c, p + r, q + s]:
// a stride-1 correlation of x (N, Cx, H, W), zero-padded by top/left (and as much bottom/right),
// giving Mo output planes of P x Q, where gather(row0, m_valid, i0, kc, a) writes the MR x kc panel
// of A for rows row0.. and reduction indices i0.. (a[i*MR + m]).
// Work items: (image, block of pixel panels, block of row panels). An item pads its image into a
// buffer of its thread (kept for the next item of the same image), and a gathered panel of A serves
// every pixel panel of the item.
template <typename T, class Gather, class BiasOf>
void flat_correlation(const T* x, int64_t N, int64_t Cx, int64_t H, int64_t W, int64_t top, int64_t left, int64_t k,
                      int64_t Mo, int64_t P, int64_t Q, const Gather& gather, const BiasOf& bias_of, bool has_bias, T* y) {
    constexpr int MR = FlatTile<T>::MR, NV = FlatTile<T>::NV, NR = FlatTile<T>::NR;
    const int64_t Wp = Q + k - 1, Hp = P + k - 1, plane = Hp * Wp;
    const int64_t CRS = Cx * k * k, F = (P - 1) * Wp + Q;
    const std::vector<int64_t> offset = tap_offsets(Cx, k, plane, Wp);
    const int64_t m_panels = ceil_div(Mo, MR), f_panels = ceil_div(F, NR);
    // As many pixel panels per item as possible (a whole image) while there are still a few items
    // per thread; blocks of about equal size.
    const int64_t p_blocks = std::min(f_panels, ceil_div(4 * at::get_num_threads(), N));
    const int64_t nb = ceil_div(f_panels, p_blocks), blocks = N * p_blocks;
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * at::get_num_threads(), blocks)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);

    const double item_flops = 2.0 * m_per_block * MR * CRS * nb * NR;
    at::parallel_for(0, blocks * m_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        // The reduction is cut into blocks of FLAT_KC so that the gathered panel of A stays in L1;
        // the tiles of the item's pixel panels wait in `tiles` between blocks.
        std::vector<T> a_panel(std::min(CRS, FLAT_KC) * MR), tiles(nb * MR * NR);
        std::vector<T> padded(Cx * plane + NR + Wp);  // slack: the surplus columns of the last panel read past the end
        int64_t padded_image = -1;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t block = item / m_blocks, mb = item % m_blocks;
            const int64_t n = block / p_blocks, jp0 = (block % p_blocks) * nb, jp1 = std::min(f_panels, jp0 + nb);
            const int64_t mp0 = mb * m_per_block, mp1 = std::min(m_panels, mp0 + m_per_block);
            if (padded_image != n) {
                pad_image(x + n * Cx * H * W, Cx, H, W, top, left, Hp, Wp, padded.data());
                std::fill(padded.begin() + Cx * plane, padded.end(), T(0));
                padded_image = n;
            }
            for (int64_t mp = mp0; mp < mp1; ++mp) {
                const int64_t row0 = mp * MR;
                const int m_valid = int(std::min<int64_t>(MR, Mo - row0));
                T bias_rows[MR];
                for (int m = 0; m < MR; ++m) bias_rows[m] = (has_bias && m < m_valid) ? bias_of(row0 + m) : T(0);
                for (int64_t kc0 = 0; kc0 < CRS; kc0 += FLAT_KC) {
                    const int64_t kc = std::min(FLAT_KC, CRS - kc0);
                    gather(row0, m_valid, kc0, kc, a_panel.data());
                    for (int64_t jp = jp0; jp < jp1; ++jp)
                        tile_kernel<T, MR, NV>(kc, PackedA<T, MR>{a_panel.data()}, padded.data() + jp * NR,
                                               TableRows{offset.data() + kc0}, tiles.data() + (jp - jp0) * MR * NR, NR,
                                               has_bias ? bias_rows : nullptr, kc0 > 0, MR, NR);
                }
                // Keep the real output pixels: the tiles' columns in runs along output rows.
                T* out = y + (n * Mo + row0) * P * Q;
                for (int64_t f = jp0 * NR; f < std::min(F, jp1 * NR);) {
                    const int64_t p = f / Wp, q = f % Wp;
                    const int64_t length = std::min(Wp - q, std::min(F, jp1 * NR) - f);  // to the row's end
                    if (q < Q) {
                        const int64_t keep = std::min(length, Q - q);
                        for (int64_t j = 0; j < keep;) {  // within one tile at a time
                            const int64_t column = f + j - jp0 * NR, tile = column / NR, in_tile = column % NR;
                            const int64_t run = std::min(keep - j, NR - in_tile);
                            const T* src = tiles.data() + tile * MR * NR + in_tile;
                            for (int m = 0; m < m_valid; ++m)
                                std::copy(src + m * NR, src + m * NR + run, out + m * P * Q + p * Q + q + j);
                            j += run;
                        }
                    }
                    f += length;
                }
            }
        }
    });
}

// a[(i - i0)*MR + m] = E[row, c0 + m, k*k-1-t'] for i = row*k*k + t' in [i0, i0 + kc): the expanded bank
// transposed and turned by 180°, the filter of the input gradient as a correlation of the padded dY.
template <typename T, int MR>
void gather_flipped_transposed_panel(const GroupConvGeometry& gg, const GroupTables& tables, const T* w, int64_t c0,
                                     int m_valid, int64_t i0, int64_t kc, T* a) {
    const int64_t kk = gg.k * gg.k, Gin = gg.group_in, G = gg.order, C = gg.conv.C;
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) {
            for (int64_t i = 0; i < kc; ++i) a[i * MR + m] = T(0);
            continue;
        }
        const int64_t c = c0 + m, h = c % Gin;
        int64_t row = i0 / kk, t = i0 % kk;
        for (int64_t i = 0; i < kc;) {
            const int64_t o = row / G, g = row % G;
            const T* w_c = w + (o * C + c - h + tables.channel[g * Gin + h]) * kk;
            const int32_t* tap = tables.tap.data() + g * kk;
            for (; t < kk && i < kc; ++t, ++i) a[i * MR + m] = w_c[tap[kk - 1 - t]];
            t = 0;
            ++row;
        }
    }
}

template <typename T>
void forward_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* x, const T* w, const T* b, T* y) {
    const Conv2dGeometry& g = gg.conv;
    auto gather = [&](int64_t row0, int m_valid, int64_t crs0, int64_t kc, T* a) {
        gather_filter_panel<T, FlatTile<T>::MR>(gg, tables, w, row0, m_valid, crs0, kc, a);
    };
    auto bias_of = [&](int64_t row) { return b[row / gg.order]; };
    flat_correlation<T>(x, g.N, g.C, g.H, g.W, g.ph, g.pw, gg.k, g.K, g.P, g.Q, gather, bias_of, b != nullptr, y);
}

// dx = the stride-1 correlation of dY, zero-padded by k-1-padding, with the turned, transposed bank.
template <typename T>
void input_grad_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* w, T* dx) {
    const Conv2dGeometry& g = gg.conv;
    auto gather = [&](int64_t c0, int m_valid, int64_t i0, int64_t kc, T* a) {
        gather_flipped_transposed_panel<T, FlatTile<T>::MR>(gg, tables, w, c0, m_valid, i0, kc, a);
    };
    auto no_bias = [](int64_t) { return T(0); };
    flat_correlation<T>(dy, g.N, g.K, g.P, g.Q, gg.k - 1 - g.ph, gg.k - 1 - g.pw, gg.k, g.C, g.H, g.W, gather, no_bias,
                        false, dx);
}

// dE[row, (c, r, s)] = sum_{n, f} dY[n, row, f] * padded[n, c][f + r*Wp + s] over the flat pixels f
// (the surplus columns of dY are zero). A tile has MR columns (c, r, s) of dE as rows, read straight
// from the padded planes, and NR output channels as columns, read from dY transposed to
// (f, output channel) so that NR channels of one pixel are contiguous. Tile shape MR x NV vectors:
// FlatTile's when there are enough output channels to fill its wider rows, else Tile's.
template <typename T, int MR, int NV>
void weight_grad_flat_tiled(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* x, T* dw) {
    constexpr int NR = Tile<T>::L * NV;
    const Conv2dGeometry& g = gg.conv;
    const int64_t kk = gg.k * gg.k, M = g.K, PQ = g.PQ(), Gin = gg.group_in, units = g.C / Gin;
    const PaddedPlanes<T> padded = pad_planes(x, g.N * g.C, g.H, g.W, g.ph, g.pw, g.H + 2 * g.ph, g.W + 2 * g.pw, 0);
    const int64_t Wp = padded.Wp, F = (g.P - 1) * Wp + g.Q, Mp = ceil_div(M, NR) * NR;
    const std::vector<int64_t> offset = tap_offsets(g.C, gg.k, padded.plane, Wp);

    // dy_t[((n*J + jp)*F + f)*NR + j] = dY[n, jp*NR + j, f] (zero for surplus columns and channels >= M):
    // the panel of NR output channels that a tile reads is one sequential stream.
    const int64_t J = Mp / NR;
    std::unique_ptr<T[]> dy_t(new T[g.N * J * F * NR]);
    at::parallel_for(0, g.N * J, grain(double(F * NR), MIN_TASK_COPIES), [&](int64_t begin, int64_t end) {
        for (int64_t njp = begin; njp < end; ++njp) {
            const int64_t n = njp / J, j0 = (njp % J) * NR;
            T* dst = dy_t.get() + njp * F * NR;
            std::fill(dst, dst + F * NR, T(0));
            const T* src = dy + (n * M + j0) * PQ;
            const int64_t channels = std::min<int64_t>(NR, M - j0);
            // 4 channels at a time: 4 read streams (planes often lie 4 KiB apart, the same L1 set)
            for (int64_t jb = 0; jb < channels; jb += 4) {
                const int64_t width = std::min<int64_t>(4, channels - jb);
                for (int64_t p = 0; p < g.P; ++p)
                    for (int64_t q = 0; q < g.Q; ++q)
                        for (int64_t j = jb; j < jb + width; ++j) dst[(p * Wp + q) * NR + j] = src[j * PQ + p * g.Q + q];
            }
        }
    });

    const int64_t threads = at::get_num_threads();
    const int64_t chunk = ceil_div(g.N, std::min<int64_t>(g.N, threads)), n_chunks = ceil_div(g.N, chunk);
    const int64_t i_blocks = std::min<int64_t>(units, std::max<int64_t>(1, ceil_div(4 * threads, n_chunks)));
    const int64_t per_block = ceil_div(units, i_blocks);
    const int64_t weight_numel = (M / gg.order) * g.C * kk;
    std::vector<T> partial((n_chunks - 1) * weight_numel, T(0));
    std::fill(dw, dw + weight_numel, T(0));

    const double item_flops = 2.0 * chunk * per_block * Gin * kk * Mp * F;
    at::parallel_for(0, n_chunks * i_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        T tile[MR * NR];
        RowsA<T, MR> rows;
        rows.step = 1;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ch = item / i_blocks, i0 = (item % i_blocks) * per_block, i1 = std::min(units, i0 + per_block);
            if (i0 >= i1) continue;
            T* out = ch == 0 ? dw : partial.data() + (ch - 1) * weight_numel;
            const int64_t col_end = i1 * Gin * kk;
            for (int64_t col0 = i0 * Gin * kk; col0 < col_end; col0 += MR) {
                const int m_valid = int(std::min<int64_t>(MR, col_end - col0));
                for (int64_t j0 = 0; j0 < M; j0 += NR) {
                    std::fill(tile, tile + MR * NR, T(0));
                    for (int64_t n = ch * chunk; n < std::min(g.N, (ch + 1) * chunk); ++n) {
                        const T* x_n = padded.data.get() + n * g.C * padded.plane;
                        for (int m = 0; m < MR; ++m) rows.rows[m] = x_n + offset[col0 + std::min(m, m_valid - 1)];
                        tile_kernel<T, MR, NV>(F, rows, dy_t.get() + (n * J + j0 / NR) * F * NR, StridedRows{NR}, tile, NR, nullptr, true,
                                       m_valid, NR);
                    }
                    const int n_valid = int(std::min<int64_t>(NR, M - j0));
                    for (int m = 0; m < m_valid; ++m) {  // add into dw through the tables: the sum over the tied copies
                        const int64_t c = (col0 + m) / kk, t = (col0 + m) % kk;
                        for (int j = 0; j < n_valid; ++j) out[tables.offset(gg, j0 + j, c, t)] += tile[m * NR + j];
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
    if (gg.conv.K >= FlatTile<T>::NR)
        weight_grad_flat_tiled<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, dy, x, dw);
    else
        weight_grad_flat_tiled<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, dy, x, dw);
}

}  // namespace

template <typename T>
void group_conv_forward_cpu(const GroupConvGeometry& gg, const T* x, const T* w, const T* b, T* y) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const Conv2dGeometry& g = gg.conv;
    if (g.N == 0) return;  // an empty batch: nothing to write
    const GroupTables tables(gg);
    if (g.sh == 1 && g.sw == 1) return forward_flat(gg, tables, x, w, b, y);
    const int64_t kk = gg.k * gg.k, CRS = g.C * kk, PQ = g.PQ(), M = g.K, HW = g.H * g.W;
    const int64_t m_panels = ceil_div(M, MR), n_panels = ceil_div(PQ, NR);
    const int64_t nb = std::min(FORWARD_NB, n_panels), p_blocks = ceil_div(n_panels, nb);
    const int64_t blocks = g.N * p_blocks;
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * at::get_num_threads(), blocks)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);
    const int64_t max_runs = NR + 1;

    const double item_flops = 2.0 * m_per_block * MR * CRS * nb * NR;
    at::parallel_for(0, blocks * m_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        std::vector<T> b_packed(FORWARD_KC * NR * nb), a_panel(FORWARD_KC * MR);
        std::vector<Run> runs(nb * max_runs);
        std::vector<int64_t> n_runs(nb);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t block = item / m_blocks, mb = item % m_blocks;
            const int64_t n = block / p_blocks, jp0 = (block % p_blocks) * nb, jp1 = std::min(n_panels, jp0 + nb);
            const int64_t mp0 = mb * m_per_block, mp1 = std::min(m_panels, mp0 + m_per_block);
            if (mp0 >= mp1) continue;
            const T* x_n = x + n * g.C * HW;
            for (int64_t jp = jp0; jp < jp1; ++jp)
                n_runs[jp - jp0] = pixel_runs(g, jp * NR, std::min<int64_t>(NR, PQ - jp * NR), runs.data() + (jp - jp0) * max_runs);
            for (int64_t kc0 = 0; kc0 < CRS; kc0 += FORWARD_KC) {
                const int64_t kc = std::min(FORWARD_KC, CRS - kc0);
                for (int64_t jp = jp0; jp < jp1; ++jp) {  // pack B[kc0 .. kc0+kc, panel]
                    const int n_valid = int(std::min<int64_t>(NR, PQ - jp * NR));
                    T* dst = b_packed.data() + (jp - jp0) * FORWARD_KC * NR;
                    for (int64_t i = 0; i < kc; ++i) {
                        const int64_t crs = kc0 + i, c = crs / kk, t = crs % kk;
                        T* row = dst + i * NR;
                        gather_row(g, x_n + c * HW, runs.data() + (jp - jp0) * max_runs, n_runs[jp - jp0], t / gg.k, t % gg.k, row, 1);
                        for (int j = n_valid; j < NR; ++j) row[j] = T(0);
                    }
                }
                for (int64_t mp = mp0; mp < mp1; ++mp) {
                    const int64_t row0 = mp * MR;
                    const int m_valid = int(std::min<int64_t>(MR, M - row0));
                    gather_filter_panel<T, MR>(gg, tables, w, row0, m_valid, kc0, kc, a_panel.data());
                    T bias_rows[MR];
                    for (int m = 0; m < MR; ++m) bias_rows[m] = (b && m < m_valid) ? b[(row0 + m) / gg.order] : T(0);
                    for (int64_t jp = jp0; jp < jp1; ++jp)
                        micro_tile<T>(kc, a_panel.data(), b_packed.data() + (jp - jp0) * FORWARD_KC * NR,
                                      y + (n * M + row0) * PQ + jp * NR, PQ, b ? bias_rows : nullptr, kc0 > 0, m_valid,
                                      int(std::min<int64_t>(NR, PQ - jp * NR)));
                }
            }
        }
    });
}

template <typename T>
void group_conv_input_grad_cpu(const GroupConvGeometry& gg, const T* dy, const T* w, T* dx) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const Conv2dGeometry& g = gg.conv;
    if (g.N == 0) return;
    const GroupTables tables(gg);
    if (g.sh == 1 && g.sw == 1 && g.ph < gg.k && g.pw < gg.k) return input_grad_flat(gg, tables, dy, w, dx);
    const int64_t kk = gg.k * gg.k, PQ = g.PQ(), M = g.K, HW = g.H * g.W;
    const int64_t n_panels = ceil_div(PQ, NR), ld = n_panels * NR, tail0 = (PQ / NR) * NR;
    const int64_t c_blocks = std::min<int64_t>(g.C, std::max<int64_t>(1, ceil_div(4 * at::get_num_threads(), g.N)));
    const int64_t cb = ceil_div(g.C, c_blocks);

    at::parallel_for(0, g.N * c_blocks, grain(2.0 * cb * kk * M * PQ), [&](int64_t begin, int64_t end) {
        std::vector<T> a_panel(BACKWARD_KC * MR), d_patches(MR * ld), tail(tail0 < PQ ? M * NR : 0);
        std::vector<Run> runs(g.P + 1);
        const int64_t n_runs = pixel_runs(g, 0, PQ, runs.data());
        for (int64_t item = begin; item < end; ++item) {
            const int64_t n = item / c_blocks, c0 = (item % c_blocks) * cb, c1 = std::min(g.C, c0 + cb);
            if (c0 >= c1) continue;
            T* dx_n = dx + n * g.C * HW;
            std::fill(dx_n + c0 * HW, dx_n + c1 * HW, T(0));
            const T* dy_n = dy + n * M * PQ;
            if (tail0 < PQ)  // the last, partial pixel panel, zero-padded to NR columns
                for (int64_t row = 0; row < M; ++row)
                    for (int64_t j = 0; j < NR; ++j) tail[row * NR + j] = tail0 + j < PQ ? dy_n[row * PQ + tail0 + j] : T(0);
            for (int64_t crs0 = c0 * kk; crs0 < c1 * kk; crs0 += MR) {
                const int m_valid = int(std::min<int64_t>(MR, c1 * kk - crs0));
                for (int64_t kc0 = 0; kc0 < M; kc0 += BACKWARD_KC) {
                    const int64_t kc = std::min(BACKWARD_KC, M - kc0);
                    gather_filter_panel_transposed<T, MR>(gg, tables, w, kc0, kc, crs0, m_valid, a_panel.data());
                    for (int64_t pq0 = 0; pq0 < PQ; pq0 += NR) {
                        const bool full = pq0 + NR <= PQ;
                        strided_tile<T>(kc, a_panel.data(), MR, 1, full ? dy_n + kc0 * PQ + pq0 : tail.data() + kc0 * NR,
                                        full ? PQ : NR, d_patches.data() + pq0, ld, nullptr, kc0 > 0, m_valid, NR);
                    }
                }
                for (int m = 0; m < m_valid; ++m) {  // col2im
                    const int64_t crs = crs0 + m, c = crs / kk, t = crs % kk;
                    scatter_row(g, dx_n + c * HW, runs.data(), n_runs, t / gg.k, t % gg.k, d_patches.data() + m * ld);
                }
            }
        }
    });
}

// The general weight gradient (any stride): im2col panels of B packed per block of pixels.
template <typename T>
void weight_grad_im2col(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* x, T* dw) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const Conv2dGeometry& g = gg.conv;
    const int64_t kk = gg.k * gg.k, PQ = g.PQ(), M = g.K, HW = g.H * g.W, Gin = gg.group_in;
    const int64_t m_panels = ceil_div(M, MR), units = g.C / Gin;  // units: the input channels i of w
    const int64_t threads = at::get_num_threads();
    const int64_t chunk = ceil_div(g.N, std::min<int64_t>(g.N, threads)), n_chunks = ceil_div(g.N, chunk);
    const int64_t i_blocks = std::min<int64_t>(units, std::max<int64_t>(1, ceil_div(4 * threads, n_chunks)));
    const int64_t per_block = ceil_div(units, i_blocks);
    const int64_t weight_numel = (M / gg.order) * g.C * kk;

    std::vector<T> partial((n_chunks - 1) * weight_numel, T(0));  // chunk 0 adds into dw itself
    std::fill(dw, dw + weight_numel, T(0));

    const double item_flops = 2.0 * chunk * per_block * Gin * kk * M * PQ;
    at::parallel_for(0, n_chunks * i_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        std::vector<T> acc(m_panels * MR * NR), b_packed(WEIGHT_KC * NR);
        std::vector<Run> runs(WEIGHT_KC + 1);
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ch = item / i_blocks, i0 = (item % i_blocks) * per_block, i1 = std::min(units, i0 + per_block);
            if (i0 >= i1) continue;
            T* out = ch == 0 ? dw : partial.data() + (ch - 1) * weight_numel;
            const int64_t col_end = i1 * Gin * kk;
            for (int64_t col0 = i0 * Gin * kk; col0 < col_end; col0 += NR) {
                const int n_valid = int(std::min<int64_t>(NR, col_end - col0));
                std::fill(acc.begin(), acc.end(), T(0));
                for (int64_t n = ch * chunk; n < std::min(g.N, (ch + 1) * chunk); ++n) {
                    const T* x_n = x + n * g.C * HW;
                    const T* dy_n = dy + n * M * PQ;
                    for (int64_t pq0 = 0; pq0 < PQ; pq0 += WEIGHT_KC) {
                        const int64_t kc = std::min(WEIGHT_KC, PQ - pq0);
                        const int64_t n_runs = pixel_runs(g, pq0, kc, runs.data());
                        for (int j = 0; j < NR; ++j) {
                            if (j < n_valid) {
                                const int64_t col = col0 + j, c = col / kk, t = col % kk;
                                gather_row(g, x_n + c * HW, runs.data(), n_runs, t / gg.k, t % gg.k, b_packed.data() + j, NR);
                            } else {
                                for (int64_t i = 0; i < kc; ++i) b_packed[i * NR + j] = T(0);
                            }
                        }
                        for (int64_t mp = 0; mp < m_panels; ++mp)
                            strided_tile<T>(kc, dy_n + mp * MR * PQ + pq0, 1, PQ, b_packed.data(), NR,
                                            acc.data() + mp * MR * NR, NR, nullptr, true,
                                            int(std::min<int64_t>(MR, M - mp * MR)), NR);
                    }
                }
                // Add the finished panel of dE into dw through the tables: the sum over the tied copies.
                for (int j = 0; j < n_valid; ++j) {
                    const int64_t col = col0 + j, c = col / kk, t = col % kk;
                    for (int64_t row = 0; row < M; ++row) out[tables.offset(gg, row, c, t)] += acc[row * NR + j];
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

template <typename T>
void group_conv_weight_grad_cpu(const GroupConvGeometry& gg, const T* dy, const T* x, T* dw, T* db) {
    const Conv2dGeometry& g = gg.conv;
    if (g.N == 0) {  // an empty batch: the gradients are sums of nothing
        std::fill(dw, dw + (g.K / gg.order) * g.C * gg.k * gg.k, T(0));
        if (db) std::fill(db, db + g.K / gg.order, T(0));
        return;
    }
    const GroupTables tables(gg);
    if (g.sh == 1 && g.sw == 1) {
        weight_grad_flat(gg, tables, dy, x, dw);
    } else {
        weight_grad_im2col(gg, tables, dy, x, dw);
    }
    if (db) bias_grad(gg, dy, db);
}

template void group_conv_forward_cpu<float>(const GroupConvGeometry&, const float*, const float*, const float*, float*);
template void group_conv_forward_cpu<double>(const GroupConvGeometry&, const double*, const double*, const double*, double*);
template void group_conv_input_grad_cpu<float>(const GroupConvGeometry&, const float*, const float*, float*);
template void group_conv_input_grad_cpu<double>(const GroupConvGeometry&, const double*, const double*, double*);
template void group_conv_weight_grad_cpu<float>(const GroupConvGeometry&, const float*, const float*, float*, float*);
template void group_conv_weight_grad_cpu<double>(const GroupConvGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
