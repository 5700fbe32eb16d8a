// group_conv_flat.h: the "flat" layout shared by the fast group-convolution passes (no im2col copy).
//
// Zero-pad an image once and, for stride sh x sw, split every padded plane into sh*sw phase planes:
// phase (a, b) holds the padded pixels (u*sh + a, v*sw + b), Hs x Ws of them (PhaseLayout). Then the
// im2col entry (c, r, s) of output pixel (p, q) is the phase plane (r % sh, s % sw) of channel c at
// (p + r/sh, q + s/sw): along an output row, consecutive outputs read consecutive values. B needs no
// packing at all: a register tile takes its NR columns as NV segments of L consecutive output pixels
// of one output row each (a row of Q pixels is ceil(Q/L) segments, the last one partly surplus), and
// its row (c, r, s) is read from the phase planes at segment start + offset[c, r, s].
//
// flat_correlation runs one such correlation with a filter bank A that a caller gathers panel by
// panel: the forward pass (A = the expanded bank E, group_conv_forward.cpp) and the input gradient
// (A = E transposed and turned by 180°, group_conv_input_grad.cpp). The weight gradient reads the
// phase planes directly (group_conv_weight_grad.cpp).
#pragma once
#include "group_conv_cpu.h"
#include "group_conv_tile.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace conv_circuits {
namespace group_conv_detail {
namespace {  // each pass file gets its own copy, compiled (and inlined) as if written in that file

constexpr int64_t FLAT_KC = 512;  // reduction indices per gather call

// Smallest task worth a thread: starting and joining a parallel region costs microseconds (much more
// on a busy machine), so small calls run on one thread. grain(work per item) is the number of work
// items of one task, for at::parallel_for (which runs a range shorter than its grain serially).
constexpr double MIN_TASK_FLOPS = 1e7;   // ~0.1 ms of multiply-adds
constexpr double MIN_TASK_COPIES = 1 << 18;
int64_t grain(double work_per_item, double min_work = MIN_TASK_FLOPS) {
    return std::max<int64_t>(1, int64_t(min_work / std::max(1.0, work_per_item)));
}

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
std::vector<int64_t> tap_offsets(const PhaseLayout& lay, int64_t channels, int64_t k) {
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
    // Then output-channel panels split among items before pixel panels: an item gathers every panel of A
    // it owns, so splitting the pixels of an image among items gathers A once per item.
    const int64_t m_blocks = std::min<int64_t>(m_panels, std::max<int64_t>(1, ceil_div(4 * threads, image_blocks)));
    const int64_t m_per_block = ceil_div(m_panels, m_blocks);
    const int64_t p_blocks = images > 1 ? 1 : std::min(f_panels, std::max<int64_t>(1, ceil_div(4 * threads, image_blocks * m_blocks)));
    const int64_t nb = ceil_div(f_panels, p_blocks), blocks = image_blocks * p_blocks;

    const double item_flops = 2.0 * m_per_block * MR * CRS * images * nb * NR;
    at::parallel_for(0, blocks * m_blocks, grain(item_flops), [&](int64_t begin, int64_t end) {
        // The whole reduction of MR rows of A is gathered once per row panel (MR x CRS values, read in
        // sequence from L2) and serves every pixel panel of the item; a tile is finished in registers in
        // one pass over the reduction and copied out at once.
        std::vector<T> a_panel(CRS * MR);
        std::vector<T> padded(images * image + lay.slack(), T(0));
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
                    T* y_n = y + (n * Mo + row0) * P * Q;
                    for (int64_t jp = jp0; jp < jp1; ++jp) {
                        const T* segment[NV];
                        T* out[NV];
                        int64_t count[NV];
                        for (int v = 0; v < NV; ++v) {
                            const int64_t s = std::min(jp * NV + v, segments - 1);  // surplus segments: any valid one
                            const int64_t p = s / row_segments, q0 = (s % row_segments) * L;
                            segment[v] = padded.data() + (n - n0) * image + p * lay.Ws + q0;
                            out[v] = y_n + p * Q + q0;
                            count[v] = jp * NV + v < segments ? std::min<int64_t>(L, Q - q0) : 0;
                        }
                        segment_tile<T, MR, NV>(CRS, a_panel.data(), segment, offset.data(), out, count, P * Q, 1, m_valid,
                                                has_bias ? bias_rows : nullptr);
                    }
                }
            }
        }
    });
}

// Tile shape of a correlation with Mo output planes: FlatTile's (wider rows, fewer broadcasts per
// multiply-add) unless Tile's taller rows waste clearly fewer rows on the last panel.
template <typename T>
bool use_tall_tile(int64_t Mo) {
    return 10 * ceil_div(Mo, Tile<T>::MR) * Tile<T>::MR < 9 * ceil_div(Mo, FlatTile<T>::MR) * FlatTile<T>::MR;
}

}  // namespace
}  // namespace group_conv_detail
}  // namespace conv_circuits
