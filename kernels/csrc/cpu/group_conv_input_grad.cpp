// group_conv_input_grad.cpp: fused p4 / p4m lifting and group convolution on the CPU, the gradient
// with respect to the input.
//
// As a product on the flattened geometry of group_conv_cpu.h (E the expanded filter bank, never stored):
//   dB[crs, pq] = sum_row E[row, crs] * dY[row, pq], then dx = col2im(dB)        row = o*G + g
// Computed instead, where it can be, as correlations of dY, with no im2col and no col2im:
//   stride 1, padding < k    dx is the stride-1 correlation of dY, zero-padded by k-1-padding, with E
//                            transposed and turned by 180° (input_grad_flat: flat_correlation,
//                            group_conv_flat.h);
//   stride > 1, padding < k  sh*sw such correlations, one per stride phase (a, b) of dx, each with the
//                            sub-filter of the taps (a + sh*r', b + sw*s') (input_grad_phases);
//   padding >= k             a work item computes the patches dB of its input channels and adds them
//                            back with col2im (pixel_runs.h, shared with conv2d_packed.cpp).
// Either way a work item gathers the panel of E it needs from w through the group tables.
//
// Work split: stride 1 as flat_correlation's (block of images, block of pixel panels, block of
// input-channel panels); stride > 1 (block of images, block of input-channel panels), every stride
// phase of the item's images on one padded copy of their dY; col2im (image, block of input channels),
// since col2im adds into neighbouring pixels, a work item owns its dx planes.
#include "group_conv_flat.h"

#include <algorithm>
#include <vector>

namespace conv_circuits {

using namespace group_conv_detail;

namespace {

constexpr int64_t BACKWARD_KC = 256;  // col2im path: output channels per block

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
                            T* dst[NV];
                            int64_t count[NV];
                            for (int v = 0; v < NV; ++v) {
                                const int64_t sg = std::min(jp * NV + v, segments - 1);  // surplus segments: any valid one
                                const int64_t p = sg / row_segments, q0 = (sg % row_segments) * L;
                                segment[v] = padded.data() + (n - n0) * image + p * lay.Ws + q0;
                                dst[v] = out + p * g.sh * g.W + q0 * g.sw;
                                count[v] = jp * NV + v < segments ? std::min<int64_t>(L, ph.Wp - q0) : 0;
                            }
                            segment_tile<T, MR, NV>(CRS, a_panel.data(), segment, ph.offset.data(), dst, count, HW, g.sw,
                                                    m_valid, nullptr);
                        }
                    }
                }
            }
        }
    });
}

}  // namespace

template <typename T>
void group_conv_input_grad_packed(const GroupConvGeometry& gg, const T* dy, const T* w, T* dx) {
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

template void group_conv_input_grad_packed<float>(const GroupConvGeometry&, const float*, const float*, float*);
template void group_conv_input_grad_packed<double>(const GroupConvGeometry&, const double*, const double*, double*);

}  // namespace conv_circuits
