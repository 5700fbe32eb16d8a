// group_conv_packed.cpp: fused p4 / p4m lifting and group convolution on the CPU, forward and backward.
//
// The three products are those of conv2d_packed.cpp, on the flattened geometry of group_conv_cpu.h:
//   forward      Y[row, pq]  = b[o] + sum_crs E[row, crs] * B[crs, pq]        row = o*G + g
//   input grad   dB[crs, pq] = sum_row E[row, crs] * dY[row, pq], then dx = col2im(dB)
//                (computed as correlations of dY instead, see below; col2im only for padding >= k)
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
//   "flat" (forward, weight grad and input grad at any stride, padding < k): an image is zero-padded
//       once and, for stride sh x sw, split into sh*sw phase planes (PhaseLayout); then the im2col row
//       (c, r, s) of L consecutive outputs of one output row is L consecutive values of one phase
//       plane. A tile's NR columns are NV such segments of output rows; no im2col copy at all, and no
//       surplus pixels when L divides Q. The input gradient is itself a stride-1 correlation (of dY
//       padded by k-1-padding, with E transposed and turned by 180°); at stride sh x sw it is sh*sw
//       such correlations, one per stride phase (a, b) of dx, each with the sub-filter of the taps
//       (a + sh*r', b + sw*s') (input_grad_phases). The weight gradient reads A straight from the
//       phase planes and B from dY transposed to (pixel, channel).
//   "im2col" (input grad with padding >= k only): a work item computes the patches dB of its input
//       channels and adds them back with col2im (pixel_runs.h, shared with conv2d_packed.cpp).
//
// Work split (at::parallel_for; calls with little work stay on one thread, see grain()):
//   forward, flat input grad  (block of images, block of pixel panels, block of output-channel panels):
//                             small images go several to an item, so a gathered panel of E serves more
//                             pixels
//   input grad, stride > 1    (block of images, block of input-channel panels): every stride phase of
//                             the item's images, on one padded copy of their dY
//   im2col input grad         (image, block of input channels): col2im adds into neighbouring pixels,
//                             so a work item owns its dx planes
//   weight grad               (chunk of images, block of input channels i): each chunk of images
//                             accumulates into its own copy of dw (summed at the end); within a chunk
//                             the blocks touch disjoint parts of dw (a column (c, t) with c = i*Gin + h
//                             only ever lands in dw[:, i]). An item takes its images one at a time, so
//                             that the image's planes and transposed dY stay in the L2 cache.
#include "group_conv_cpu.h"
#include "group_conv_tile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace conv_circuits {

using namespace group_conv_detail;

namespace {

constexpr int64_t FLAT_KC = 512;       // flat path: reduction indices per gather call
constexpr int64_t BACKWARD_KC = 256;   // input grad: output channels per block

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

// --- the "flat" path: no im2col ------------------------------------------------------------------------
// Zero-pad an image once and, for stride sh x sw, split every padded plane into sh*sw phase planes:
// phase (a, b) holds the padded pixels (u*sh + a, v*sw + b), Hs x Ws of them (PhaseLayout). Then the
// im2col entry (c, r, s) of output pixel (p, q) is the phase plane (r % sh, s % sw) of channel c at
// (p + r/sh, q + s/sw): along an output row, consecutive outputs read consecutive values. B needs no
// packing at all: a register tile takes its NR columns as NV segments of L consecutive output pixels
// of one output row each (a row of Q pixels is ceil(Q/L) segments, the last one partly surplus), and
// its row (c, r, s) is read from the phase planes at segment start + offset[c, r, s].

struct PhaseLayout {
    int64_t H, W, top, left, sh, sw, Hs, Ws, plane, per_channel;
    PhaseLayout(int64_t H_, int64_t W_, int64_t top_, int64_t left_, int64_t k, int64_t sh_, int64_t sw_, int64_t P,
                int64_t Q)
        : H(H_), W(W_), top(top_), left(left_), sh(sh_), sw(sw_), Hs(P + (k - 1) / sh_), Ws(Q + (k - 1) / sw_),
          plane(Hs * Ws), per_channel(sh_ * sw_ * Hs * Ws) {}
    // zeros that must follow the last plane: a segment of the last output row reads up to L - 1 values
    // past the row's end.
    int64_t slack() const { return Ws + 64; }
};

// One input plane (H x W) into its sh*sw phase planes (dst: per_channel values).
template <typename T>
void pad_plane(const PhaseLayout& lay, const T* src, T* dst) {
    for (int64_t b = 0; b < lay.sw; ++b) {
        // the columns v of phase b inside the image, 0 <= v*sw + first < W: [lo, hi)
        const int64_t first = b - lay.left;
        const int64_t lo = std::min(lay.Ws, first >= 0 ? int64_t(0) : (-first + lay.sw - 1) / lay.sw);
        const int64_t hi = std::max(lo, std::min(lay.Ws, lay.W - first <= 0 ? int64_t(0) : (lay.W - first - 1) / lay.sw + 1));
        for (int64_t a = 0; a < lay.sh; ++a) {
            T* d = dst + (a * lay.sw + b) * lay.plane;
            for (int64_t u = 0; u < lay.Hs; ++u) {
                T* row = d + u * lay.Ws;
                const int64_t h = u * lay.sh + a - lay.top;
                if (h < 0 || h >= lay.H) {
                    std::fill(row, row + lay.Ws, T(0));
                    continue;
                }
                const T* x_col = src + h * lay.W + first;  // row[v] = x_col[v*sw]
                std::fill(row, row + lo, T(0));
                if (lay.sw == 1) {
                    std::copy(x_col + lo, x_col + hi, row + lo);
                } else if (lay.sw == 2) {  // a constant step: the compiler vectorises the de-interleave
                    for (int64_t v = lo; v < hi; ++v) row[v] = x_col[2 * v];
                } else {
                    for (int64_t v = lo; v < hi; ++v) row[v] = x_col[v * lay.sw];
                }
                std::fill(row + hi, row + lay.Ws, T(0));
            }
        }
    }
}

// offset[(c*k + r)*k + s]: where the im2col entry (c, r, s) of output pixel (0, 0) lies; that of
// output pixel (p, q) is p*Ws + q further on.
inline std::vector<int64_t> tap_offsets(const PhaseLayout& lay, int64_t channels, int64_t k) {
    std::vector<int64_t> offset(channels * k * k);
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t r = 0; r < k; ++r)
            for (int64_t s = 0; s < k; ++s)
                offset[(c * k + r) * k + s] = c * lay.per_channel + ((r % lay.sh) * lay.sw + s % lay.sw) * lay.plane +
                                              (r / lay.sh) * lay.Ws + s / lay.sw;
    return offset;
}

// y[n, m, p, q] = bias_of(m) + sum_{c, r, s} A[m, (c*k + r)*k + s] * padded[n, c, p*sh + r, q*sw + s]:
// a correlation of x (N, Cx, H, W), laid out by `lay` (padding, stride), giving Mo output planes of
// P x Q, where gather(row0, m_valid, i0, kc, a) writes the MR x kc panel of A for rows row0.. and
// reduction indices i0.. (a[i*MR + m]).
// Work items: (image, block of pixel panels, block of row panels). An item pads its image into a
// buffer of its thread (kept for the next item of the same image), and a gathered panel of A serves
// every pixel panel of the item.
template <typename T, int MR, int NV, class Gather, class BiasOf>
void flat_correlation(const T* x, int64_t N, int64_t Cx, const PhaseLayout& lay, int64_t k, int64_t Mo, int64_t P,
                      int64_t Q, const Gather& gather, const BiasOf& bias_of, bool has_bias, T* y) {
    constexpr int L = Tile<T>::L, NR = L * NV;
    const int64_t CRS = Cx * k * k, image = Cx * lay.per_channel;
    const std::vector<int64_t> offset = tap_offsets(lay, Cx, k);
    const int64_t row_segments = ceil_div(Q, L), segments = P * row_segments;
    const int64_t m_panels = ceil_div(Mo, MR), f_panels = ceil_div(segments, NV), threads = at::get_num_threads();
    // Small images: an item takes several (their padded planes together in at most 512 KiB), so that a
    // gathered panel of A serves more pixels. Then as many pixel panels per item as possible (whole
    // images) while there are still a few items per thread; blocks of about equal size.
    const int64_t images = std::max<int64_t>(1, std::min<int64_t>((int64_t(512) << 10) / int64_t(image * sizeof(T)),
                                                                  ceil_div(N, 4 * threads)));
    const int64_t image_blocks = ceil_div(N, images);
    const int64_t p_blocks = images > 1 ? 1 : std::min(f_panels, ceil_div(4 * threads, N));
    const int64_t nb = ceil_div(f_panels, p_blocks), blocks = image_blocks * p_blocks;
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * threads, blocks)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);

    const double item_flops = 2.0 * m_per_block * MR * CRS * images * nb * NR;
    at::parallel_for(0, blocks * m_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        // The whole reduction of MR rows of A is gathered once per row panel (MR x CRS values, read in
        // sequence from L2) and serves every pixel panel of the item; a tile is finished in registers in
        // one pass over the reduction and copied out at once.
        std::vector<T> a_panel(CRS * MR);
        std::vector<T> padded(images * image + lay.slack(), T(0));
        T tile[MR * NR];
        int64_t padded_image = -1;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t block = item / m_blocks, mb = item % m_blocks;
            const int64_t ib = block / p_blocks, jp0 = (block % p_blocks) * nb, jp1 = std::min(f_panels, jp0 + nb);
            const int64_t n0 = ib * images, n1 = std::min(N, n0 + images);
            const int64_t mp0 = mb * m_per_block, mp1 = std::min(m_panels, mp0 + m_per_block);
            if (jp0 >= jp1 || mp0 >= mp1) continue;
            if (padded_image != ib) {
                for (int64_t c = 0; c < (n1 - n0) * Cx; ++c)
                    pad_plane(lay, x + (n0 * Cx + c) * lay.H * lay.W, padded.data() + c * lay.per_channel);
                padded_image = ib;
            }
            for (int64_t mp = mp0; mp < mp1; ++mp) {
                const int64_t row0 = mp * MR;
                const int m_valid = int(std::min<int64_t>(MR, Mo - row0));
                T bias_rows[MR];
                for (int m = 0; m < MR; ++m) bias_rows[m] = (has_bias && m < m_valid) ? bias_of(row0 + m) : T(0);
                for (int64_t kc0 = 0; kc0 < CRS; kc0 += FLAT_KC)
                    gather(row0, m_valid, kc0, std::min(FLAT_KC, CRS - kc0), a_panel.data() + kc0 * MR);
                for (int64_t n = n0; n < n1; ++n) {
                    T* out = y + (n * Mo + row0) * P * Q;
                    for (int64_t jp = jp0; jp < jp1; ++jp) {
                        const T* segment[NV];
                        for (int v = 0; v < NV; ++v) {
                            const int64_t s = std::min(jp * NV + v, segments - 1);  // surplus segments: any valid one
                            segment[v] = padded.data() + (n - n0) * image + (s / row_segments) * lay.Ws +
                                         (s % row_segments) * L;
                        }
                        segment_tile<T, MR, NV>(CRS, a_panel.data(), segment, offset.data(), tile,
                                                has_bias ? bias_rows : nullptr, false);
                        // Keep the real output pixels: each segment's first min(L, Q - q0) columns.
                        for (int v = 0; v < NV && jp * NV + v < segments; ++v) {
                            const int64_t s = jp * NV + v, p = s / row_segments, q0 = (s % row_segments) * L;
                            const int64_t count = std::min<int64_t>(L, Q - q0);
                            for (int m = 0; m < m_valid; ++m)
                                std::copy(tile + m * NR + v * L, tile + m * NR + v * L + count, out + m * P * Q + p * Q + q0);
                        }
                    }
                }
            }
        }
    });
}

// a[(i - i0)*MR + m] = E[row, c0 + m, taps[t']] for i = row*nt + t' in [i0, i0 + kc): the expanded bank
// transposed, with its taps in the order `taps` (nt of them). taps[t'] = k*k-1-t' (the bank turned by
// 180°) is the filter of the input gradient as a correlation of the padded dY; a subset of the taps,
// turned, that of one stride phase of it.
template <typename T, int MR>
void gather_flipped_transposed_panel(const GroupConvGeometry& gg, const GroupTables& tables, const T* w, int64_t c0,
                                     int m_valid, int64_t i0, int64_t kc, const int64_t* taps, int64_t nt, T* a) {
    const int64_t kk = gg.k * gg.k, Gin = gg.group_in, G = gg.order, C = gg.conv.C;
    for (int m = 0; m < MR; ++m) {
        if (m >= m_valid) {
            for (int64_t i = 0; i < kc; ++i) a[i * MR + m] = T(0);
            continue;
        }
        const int64_t c = c0 + m, h = c % Gin;
        int64_t row = i0 / nt, t = i0 % nt;
        for (int64_t i = 0; i < kc;) {
            const int64_t o = row / G, g = row % G;
            const T* w_c = w + (o * C + c - h + tables.channel[g * Gin + h]) * kk;
            const int32_t* tap = tables.tap.data() + g * kk;
            for (; t < nt && i < kc; ++t, ++i) a[i * MR + m] = w_c[tap[taps[t]]];
            t = 0;
            ++row;
        }
    }
}

// Tile shape of a correlation with Mo output planes: FlatTile's (wider rows, fewer broadcasts per
// multiply-add) unless Tile's taller rows waste clearly fewer rows on the last panel.
template <typename T>
bool use_tall_tile(int64_t Mo) {
    return 10 * ceil_div(Mo, Tile<T>::MR) * Tile<T>::MR < 9 * ceil_div(Mo, FlatTile<T>::MR) * FlatTile<T>::MR;
}

template <typename T, int MR, int NV>
void forward_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* x, const T* w, const T* b, T* y) {
    const Conv2dGeometry& g = gg.conv;
    auto gather = [&](int64_t row0, int m_valid, int64_t crs0, int64_t kc, T* a) {
        gather_filter_panel<T, MR>(gg, tables, w, row0, m_valid, crs0, kc, a);
    };
    auto bias_of = [&](int64_t row) { return b[row / gg.order]; };
    const PhaseLayout lay(g.H, g.W, g.ph, g.pw, gg.k, g.sh, g.sw, g.P, g.Q);
    flat_correlation<T, MR, NV>(x, g.N, g.C, lay, gg.k, g.K, g.P, g.Q, gather, bias_of, b != nullptr, y);
}

// dx = the stride-1 correlation of dY, zero-padded by k-1-padding, with the turned, transposed bank.
template <typename T, int MR, int NV>
void input_grad_flat(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* w, T* dx) {
    const Conv2dGeometry& g = gg.conv;
    const int64_t kk = gg.k * gg.k;
    std::vector<int64_t> taps(kk);
    for (int64_t t = 0; t < kk; ++t) taps[t] = kk - 1 - t;
    auto gather = [&](int64_t c0, int m_valid, int64_t i0, int64_t kc, T* a) {
        gather_flipped_transposed_panel<T, MR>(gg, tables, w, c0, m_valid, i0, kc, taps.data(), kk, a);
    };
    auto no_bias = [](int64_t) { return T(0); };
    const PhaseLayout lay(g.P, g.Q, gg.k - 1 - g.ph, gg.k - 1 - g.pw, gg.k, 1, 1, g.H, g.W);
    flat_correlation<T, MR, NV>(dy, g.N, g.K, lay, gg.k, g.C, g.H, g.W, gather, no_bias, false, dx);
}

// The input gradient at stride sh x sw, one stride phase of dx at a time: the input pixels
// (h, w) = (u*sh + a - ph, v*sw + b - pw) of phase (a, b) receive only the taps (r, s) = (a + sh*r',
// b + sw*s'), from output pixel (u - r', v - s'):
//   dx[c, h, w] = sum_{row, r', s'} E[row, c, a + sh*r', b + sw*s'] * dY[row, u - r', v - s']
// a stride-1 correlation of dY (zero-padded) with the kr x ks sub-filter of those taps, turned by 180°
// and transposed: every multiply-add is one of the product (no zeros of a dilated dY). The phases are
// flat_correlation's tiles over one zero-padded copy of dY (padded enough for every phase; phase (a, b)
// starts at its own row and column of it), written with steps sh*W and sw straight into dx. One
// parallel region for all phases: work items (block of images, block of input-channel panels), each
// padding its images once and running every phase on them.
struct InputPhase {
    int64_t kr, ks, Hp, Wp, h0, w0;  // sub-filter, phase size, first dx pixel
    int64_t top, left, shift;        // the phase's own padding of dY; where it starts in the common one
    std::vector<int64_t> taps, offset;  // reduction index (row, r'', s''): tap of w, place in padded dY
};

template <typename T, int MR, int NV>
void input_grad_phases(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* w, T* dx) {
    constexpr int L = Tile<T>::L, NR = L * NV;
    const Conv2dGeometry& g = gg.conv;
    const int64_t k = gg.k, HW = g.H * g.W, Mo = g.C, Cx = g.K;
    std::vector<InputPhase> phases;
    int64_t top = 0, left = 0;
    for (int64_t a = 0; a < g.sh; ++a) {
        // phase rows: h = (u0 + u)*sh + a - ph for u < Hp, u0 the first u with h >= 0
        const int64_t u0 = a >= g.ph ? 0 : ceil_div(g.ph - a, g.sh), h0 = u0 * g.sh + a - g.ph;
        const int64_t Hp = h0 < g.H ? ceil_div(g.H - h0, g.sh) : 0, kr = a < k ? ceil_div(k - a, g.sh) : 0;
        for (int64_t b = 0; b < g.sw; ++b) {
            const int64_t v0 = b >= g.pw ? 0 : ceil_div(g.pw - b, g.sw), w0 = v0 * g.sw + b - g.pw;
            const int64_t Wp = w0 < g.W ? ceil_div(g.W - w0, g.sw) : 0, ks = b < k ? ceil_div(k - b, g.sw) : 0;
            if (Hp == 0 || Wp == 0) continue;
            InputPhase ph{kr, ks, Hp, Wp, h0, w0, kr - 1 - u0, ks - 1 - v0, 0, {}, {}};
            // reduction index (row, r'', s''), r'' = kr-1-r', s'' = ks-1-s': the tap (a + sh*r', b + sw*s')
            ph.taps.resize(kr * ks);
            for (int64_t r2 = 0; r2 < kr; ++r2)
                for (int64_t s2 = 0; s2 < ks; ++s2)
                    ph.taps[r2 * ks + s2] = (a + g.sh * (kr - 1 - r2)) * k + b + g.sw * (ks - 1 - s2);
            // output (u, v) of the phase reads dY[u0 + u - kr + 1 + r'', v0 + v - ks + 1 + s'']: dY padded by
            // kr - 1 - u0 on top and ks - 1 - v0 on the left
            top = std::max(top, ph.top);
            left = std::max(left, ph.left);
            phases.push_back(std::move(ph));
        }
    }
    // the common padded dY: rows -top .. , columns -left .. of dY, enough for every phase's reads
    int64_t rows = 1, cols = 1;
    for (const InputPhase& ph : phases) {
        if (ph.kr == 0 || ph.ks == 0) continue;
        rows = std::max(rows, top - ph.top + ph.Hp + ph.kr - 1);
        cols = std::max(cols, left - ph.left + ph.Wp + ph.ks - 1);
    }
    const PhaseLayout lay(g.P, g.Q, top, left, 1, 1, 1, rows, cols);  // stride 1, rows x cols
    int64_t max_crs = 1;
    for (InputPhase& ph : phases) {
        ph.shift = (top - ph.top) * lay.Ws + (left - ph.left);
        ph.offset.resize(Cx * ph.kr * ph.ks);
        for (int64_t c = 0; c < Cx; ++c)
            for (int64_t r = 0; r < ph.kr; ++r)
                for (int64_t s2 = 0; s2 < ph.ks; ++s2)
                    ph.offset[(c * ph.kr + r) * ph.ks + s2] = c * lay.per_channel + ph.shift + r * lay.Ws + s2;
        max_crs = std::max(max_crs, Cx * ph.kr * ph.ks);
    }

    const int64_t image = Cx * lay.per_channel, threads = at::get_num_threads(), m_panels = ceil_div(Mo, MR);
    const int64_t images = std::max<int64_t>(1, std::min<int64_t>((int64_t(512) << 10) / int64_t(image * sizeof(T)),
                                                                  ceil_div(g.N, 4 * threads)));
    const int64_t image_blocks = ceil_div(g.N, images);
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * threads, image_blocks)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);
    const double item_flops = 2.0 * m_per_block * MR * Cx * k * k * images * HW / double(g.sh * g.sw);
    at::parallel_for(0, image_blocks * m_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        std::vector<T> a_panel(max_crs * MR);
        std::vector<T> padded(images * image + lay.slack(), T(0));
        T tile[MR * NR];
        int64_t padded_image = -1;
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ib = item / m_blocks, mb = item % m_blocks;
            const int64_t n0 = ib * images, n1 = std::min(g.N, n0 + images);
            const int64_t mp0 = mb * m_per_block, mp1 = std::min(m_panels, mp0 + m_per_block);
            if (n0 >= n1 || mp0 >= mp1) continue;
            if (padded_image != ib) {
                for (int64_t c = 0; c < (n1 - n0) * Cx; ++c)
                    pad_plane(lay, dy + (n0 * Cx + c) * g.P * g.Q, padded.data() + c * lay.per_channel);
                padded_image = ib;
            }
            for (const InputPhase& ph : phases) {
                const int64_t CRS = Cx * ph.kr * ph.ks, row_segments = ceil_div(ph.Wp, L);
                const int64_t segments = ph.Hp * row_segments, f_panels = ceil_div(segments, NV);
                for (int64_t mp = mp0; mp < mp1; ++mp) {
                    const int64_t row0 = mp * MR;
                    const int m_valid = int(std::min<int64_t>(MR, Mo - row0));
                    if (CRS == 0) {  // no tap lands on this phase: its pixels get nothing
                        for (int64_t n = n0; n < n1; ++n)
                            for (int m = 0; m < m_valid; ++m) {
                                T* base = dx + (n * Mo + row0 + m) * HW + ph.h0 * g.W + ph.w0;
                                for (int64_t u = 0; u < ph.Hp; ++u)
                                    for (int64_t v = 0; v < ph.Wp; ++v) base[u * g.sh * g.W + v * g.sw] = T(0);
                            }
                        continue;
                    }
                    for (int64_t kc0 = 0; kc0 < CRS; kc0 += FLAT_KC)
                        gather_flipped_transposed_panel<T, MR>(gg, tables, w, row0, m_valid, kc0,
                                                               std::min(FLAT_KC, CRS - kc0), ph.taps.data(),
                                                               ph.kr * ph.ks, a_panel.data() + kc0 * MR);
                    for (int64_t n = n0; n < n1; ++n) {
                        T* out = dx + (n * Mo + row0) * HW + ph.h0 * g.W + ph.w0;
                        for (int64_t jp = 0; jp < f_panels; ++jp) {
                            const T* segment[NV];
                            for (int v = 0; v < NV; ++v) {
                                const int64_t sg = std::min(jp * NV + v, segments - 1);  // surplus segments: any valid one
                                segment[v] = padded.data() + (n - n0) * image + (sg / row_segments) * lay.Ws +
                                             (sg % row_segments) * L;
                            }
                            segment_tile<T, MR, NV>(CRS, a_panel.data(), segment, ph.offset.data(), tile, nullptr, false);
                            for (int v = 0; v < NV && jp * NV + v < segments; ++v) {
                                const int64_t sg = jp * NV + v, p = sg / row_segments, q0 = (sg % row_segments) * L;
                                const int64_t count = std::min<int64_t>(L, ph.Wp - q0);
                                for (int m = 0; m < m_valid; ++m) {
                                    const T* src = tile + m * NR + v * L;
                                    T* dst = out + m * HW + p * g.sh * g.W + q0 * g.sw;
                                    for (int64_t q = 0; q < count; ++q) dst[q * g.sw] = src[q];
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

// dE[row, (c, r, s)] = sum_{n, p, q} dY[n, row, p, q] * padded[n, c][(p, q) + offset[c, r, s]] in the phase
// layout (any stride). A tile has MR columns (c, r, s) of dE as rows, read straight from the phase planes,
// and NR output channels as columns, read from dY transposed to (pixel, channel) so that NR channels of
// one pixel are contiguous. A work item runs through its images one at a time (the image's planes and
// transposed dY stay in L2 while every column tile of the item uses them) and adds each finished tile
// into dw through the tables. Tile shape MR x NV vectors: FlatTile's when there are enough output
// channels to fill its wider rows, else Tile's.
template <typename T, int MR, int NV>
void weight_grad_flat_tiled(const GroupConvGeometry& gg, const GroupTables& tables, const T* dy, const T* x, T* dw) {
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

    const double item_flops = 2.0 * chunk * per_block * Gin * kk * Mp * PQ;
    at::parallel_for(0, n_chunks * i_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        T tile[MR * NR];
        const T* rows[MR];
        // dy_t[(jp*PQ + pq)*NR + j] = dY[n, jp*NR + j, pq] (zero for channels >= M), one image at a time: the
        // panel of NR output channels that a tile reads is one sequential stream.
        std::unique_ptr<T[]> dy_t(new T[J * PQ * NR]);
        int64_t column[MR][8];  // column[m][g]: where E[o*G + g, col0 + m] lies in w[o]
        for (int64_t item = begin; item < end; ++item) {
            const int64_t ch = item / i_blocks, i0 = (item % i_blocks) * per_block, i1 = std::min(units, i0 + per_block);
            if (i0 >= i1) continue;
            T* out = ch == 0 ? dw : partial.data() + (ch - 1) * weight_numel;
            const int64_t col_end = i1 * Gin * kk;
            for (int64_t n = ch * chunk; n < std::min(g.N, (ch + 1) * chunk); ++n) {
                const T* x_n = padded.get() + n * image;
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
    if (gg.conv.K >= FlatTile<T>::NR)
        weight_grad_flat_tiled<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, dy, x, dw);
    else
        weight_grad_flat_tiled<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, dy, x, dw);
}

}  // namespace

template <typename T>
void group_conv_forward_cpu(const GroupConvGeometry& gg, const T* x, const T* w, const T* b, T* y) {
    if (gg.conv.N == 0) return;  // an empty batch: nothing to write
    const GroupTables tables(gg);
    if (use_tall_tile<T>(gg.conv.K))
        forward_flat<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, x, w, b, y);
    else
        forward_flat<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, x, w, b, y);
}

template <typename T>
void group_conv_input_grad_cpu(const GroupConvGeometry& gg, const T* dy, const T* w, T* dx) {
    constexpr int MR = Tile<T>::MR, NR = Tile<T>::NR;
    const Conv2dGeometry& g = gg.conv;
    if (g.N == 0) return;
    const GroupTables tables(gg);
    if (g.sh == 1 && g.sw == 1 && g.ph < gg.k && g.pw < gg.k) {
        if (use_tall_tile<T>(g.C))
            return input_grad_flat<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, dy, w, dx);
        return input_grad_flat<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, dy, w, dx);
    }
    if (g.ph < gg.k && g.pw < gg.k) {
        if (use_tall_tile<T>(g.C))
            return input_grad_phases<T, Tile<T>::MR, Tile<T>::NV>(gg, tables, dy, w, dx);
        return input_grad_phases<T, FlatTile<T>::MR, FlatTile<T>::NV>(gg, tables, dy, w, dx);
    }
    const int64_t kk = gg.k * gg.k, PQ = g.PQ(), M = g.K, HW = g.H * g.W;
    const int64_t n_panels = ceil_div(PQ, NR), ld = n_panels * NR, tail0 = (PQ / NR) * NR;
    const int64_t c_blocks = std::min<int64_t>(g.C, std::max<int64_t>(1, ceil_div(4 * at::get_num_threads(), g.N)));
    const int64_t cb = ceil_div(g.C, c_blocks);

    at::parallel_for(0, g.N * c_blocks, grain(2.0 * cb * kk * M * PQ), [&](int64_t begin, int64_t end) {
        std::vector<T> a_panel(BACKWARD_KC * MR), d_patches(MR * ld), tail(tail0 < PQ ? M * NR : 0);
        std::vector<PixelRun> runs(g.P + 1);
        const int n_runs = split_into_runs(g, 0, PQ, runs.data());
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
                    scatter_patch_row(g, dx_n + c * HW, runs.data(), n_runs, t / gg.k, t % gg.k, d_patches.data() + m * ld);
                }
            }
        }
    });
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
    weight_grad_flat(gg, tables, dy, x, dw);
    if (db) bias_grad(gg, dy, db);
}

template void group_conv_forward_cpu<float>(const GroupConvGeometry&, const float*, const float*, const float*, float*);
template void group_conv_forward_cpu<double>(const GroupConvGeometry&, const double*, const double*, const double*, double*);
template void group_conv_input_grad_cpu<float>(const GroupConvGeometry&, const float*, const float*, float*);
template void group_conv_input_grad_cpu<double>(const GroupConvGeometry&, const double*, const double*, double*);
template void group_conv_weight_grad_cpu<float>(const GroupConvGeometry&, const float*, const float*, float*, float*);
template void group_conv_weight_grad_cpu<double>(const GroupConvGeometry&, const double*, const double*, double*, double*);

}  // namespace conv_circuits
