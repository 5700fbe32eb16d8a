"""kernels/groups.py: p4 and p4m as groups, and their actions on images and on group feature maps.

- the axioms, read off the multiplication table alone: closure, identity, inverses, associativity;
- the table agrees with composing the image actions (`torch.rot90`, `torch.flip` as DESIGN.md fixes
  them), checked on a probe image with all-distinct pixels, so different elements act differently;
- the action on group feature maps is a homomorphism, and it is the one DESIGN.md's laws describe
  (rotation rolls the group axis by +1 within each flip coset; the flip sends (m, r) to (m+1, -r));
- the index tables every fused kernel reads: the expanded filter bank gathered through
  `filter_index` is the reference's, `filter_landing` inverts it, the pixel matrices give every
  filter size's pixel map, and kernels/csrc/group_tables.h is exactly what groups.py generates.
"""
import itertools

import pytest
import torch

from kernels.group_reference import expand_group_filters, expand_lift_filters
from kernels.groups import CPP_HEADER, GROUPS, P4, P4M, cpp_header, get_group

GROUP_PARAMS = [pytest.param(group, id=name) for name, group in GROUPS.items()]


def probe(*leading, size=5, seed=0):
    """Random images with distinct pixels: no rotation or flip leaves one unchanged."""
    return torch.randn(*leading, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def design_action(x, g):
    """The image action as DESIGN.md states it, written out here independently of kernels.groups."""
    m, r = divmod(g, 4)
    if m:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, r, dims=(-2, -1))


def test_orders_and_names():
    assert (P4.order, P4M.order) == (4, 8)
    assert get_group("p4") is P4 and get_group("p4m") is P4M and get_group(P4M) is P4M
    with pytest.raises(ValueError, match="group"):
        get_group("p6")


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_table_is_closed_and_every_row_and_column_is_a_permutation(group):
    table = group.table
    assert table.shape == (group.order, group.order)
    everything = torch.arange(group.order)
    for g in group.elements:
        assert torch.equal(table[g].sort().values, everything)  # Latin square: cancellation holds
        assert torch.equal(table[:, g].sort().values, everything)


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_identity_and_inverses(group):
    e = group.identity
    for g in group.elements:
        assert group.table[e, g] == g and group.table[g, e] == g
        g_inv = int(group.inverses[g])
        assert group.table[g, g_inv] == e and group.table[g_inv, g] == e


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_associativity(group):
    t = group.table
    for a, b, c in itertools.product(group.elements, repeat=3):
        assert t[t[a, b], c] == t[a, t[b, c]], (a, b, c)


def test_p4_is_abelian_and_p4m_is_not():
    assert torch.equal(P4.table, P4.table.T)
    assert not torch.equal(P4M.table, P4M.table.T)
    assert torch.equal(P4M.table[:4, :4], P4.table)  # p4 is the rotation half of p4m, same numbers


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_image_action_is_the_design_convention_and_faithful(group):
    x = probe(2, 3)
    images = [group.act_on_image(x, g) for g in group.elements]
    for g, image in zip(group.elements, images):
        assert torch.equal(image, design_action(x, g))
    for g, h in itertools.combinations(group.elements, 2):
        assert not torch.equal(images[g], images[h]), f"elements {g} and {h} act alike"


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_table_agrees_with_composing_image_actions(group):
    """act(act(x, h), g) == act(x, g·h): first h, then g."""
    x = probe(3)
    for g, h in itertools.product(group.elements, repeat=2):
        composed = group.act_on_image(group.act_on_image(x, h), g)
        assert torch.equal(composed, group.act_on_image(x, int(group.table[g, h]))), (g, h)


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_feature_map_action_is_a_homomorphism(group):
    f = probe(2, 3, group.order, seed=1)
    assert torch.equal(group.act_on_feature_map(f, group.identity), f)
    for g, h in itertools.product(group.elements, repeat=2):
        twice = group.act_on_feature_map(group.act_on_feature_map(f, h), g)
        assert torch.equal(twice, group.act_on_feature_map(f, group.multiply(g, h))), (g, h)


@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_feature_map_action_matches_the_design_laws(group):
    """Rotation: (u·f)[(m, r)] = rot90(f[(m, r-1)]); flip: (u·f)[(m, r)] = flip(f[(m+1, -r)])."""
    f = probe(1, 2, group.order, seed=2)
    rotated = group.act_on_feature_map(f, group.element(0, 1))
    for g in group.elements:
        m, r = divmod(g, 4)
        assert torch.equal(rotated[:, :, g], torch.rot90(f[:, :, 4 * m + (r - 1) % 4], 1, dims=(-2, -1)))
    if group is P4M:
        flipped = group.act_on_feature_map(f, group.element(1, 0))
        for g in group.elements:
            m, r = divmod(g, 4)
            source = 4 * ((m + 1) % 2) + (-r) % 4
            assert torch.equal(flipped[:, :, g], torch.flip(f[:, :, source], dims=(-1,)))


def test_bad_elements_and_feature_maps_raise():
    with pytest.raises(ValueError, match="element"):
        P4.multiply(4, 0)
    with pytest.raises(ValueError, match="no flips"):
        P4.element(1, 0)
    with pytest.raises(ValueError, match="group axis"):
        P4M.act_on_feature_map(probe(1, 2, 4), 1)


# --- the index tables the kernels read ----------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("lifting", [True, False], ids=["lift", "conv"])
@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_filter_index_gathers_the_reference_expanded_bank(group, lifting, k):
    """Wexp[(o, g), (i, e, t)] = w[o, i].flatten()[filter_index[g, e*k*k + t]], against group_reference.py."""
    cout, cin, order = 2, 3, group.order
    weight = probe(cout, cin, *(() if lifting else (order,)), size=k, seed=k)
    expanded = (expand_lift_filters if lifting else expand_group_filters)(weight, group)  # (cout*G, cin*Gin, k, k)
    index = group.filter_index(k, lifting)
    assert index.shape == (order, (1 if lifting else order) * k * k)
    gathered = weight.reshape(cout, 1, cin, -1)[:, :, :, index]  # (cout, 1, cin, G, Gin*k*k)
    gathered = gathered[:, 0].permute(0, 2, 1, 3).reshape(cout * order, cin * (1 if lifting else order), k, k)
    assert torch.equal(gathered, expanded)


@pytest.mark.parametrize("lifting", [True, False], ids=["lift", "conv"])
@pytest.mark.parametrize("group", GROUP_PARAMS)
def test_filter_landing_inverts_filter_index(group, lifting):
    index, landing = group.filter_index(3, lifting), group.filter_landing(3, lifting)
    for g in group.elements:
        assert torch.equal(index[g, landing[g]], torch.arange(index.shape[1]))  # each row is a permutation


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7])
def test_pixel_matrices_give_the_pixel_map_of_every_filter_size(k):
    """(A', B') = M (A, B) on centred, doubled coordinates: what the C++ and CUDA kernels compute."""
    a, b = torch.arange(k * k) // k, torch.arange(k * k) % k
    for g in P4M.elements:
        m = P4M.pixel_matrix(g)
        big_a, big_b = 2 * a - (k - 1), 2 * b - (k - 1)
        a_source = (m[0][0] * big_a + m[0][1] * big_b + k - 1) // 2
        b_source = (m[1][0] * big_a + m[1][1] * big_b + k - 1) // 2
        assert torch.equal(a_source * k + b_source, P4M.pixel_source(g, k)), (g, k)


def test_cpp_header_is_generated_from_groups():
    """kernels/csrc/group_tables.h is data, never edited by hand: regenerate it with `python -m kernels.groups`."""
    assert CPP_HEADER.read_text() == cpp_header(), "stale kernels/csrc/group_tables.h: run python -m kernels.groups"
    assert torch.equal(P4M.table[:4, :4], P4.table)  # so p4 may read p4m's tables (its first four elements)
