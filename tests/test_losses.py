"""The contrastive objectives: hand-checked values, symmetry, gradients, errors, word ids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from xtutor.losses import (
    CLIPLoss,
    DriftRegularizer,
    ImageProjector,
    InfoNCELoss,
    WordAlignmentLoss,
    align_tokens,
    clip_loss,
    info_nce,
    info_nce_logits,
    l2_drift,
    snapshot,
    word_alignment_loss,
    word_positions,
    word_states,
)
from xtutor.tokenization import build_word_tokenizer

# ----------------------------------------------------------------- sentence InfoNCE


def test_info_nce_on_identical_orthogonal_embeddings_matches_hand_value() -> None:
    # x_i = y_i = e_i (3 orthogonal unit vectors): cos = 1 on the diagonal, 0 elsewhere, so
    # every row is softmax([1/tau, 0, 0]) and the loss is -log(e^{1/tau} / (e^{1/tau} + 2))
    x = torch.eye(3)
    tau = 0.5
    expected = math.log(1 + 2 * math.exp(-1 / tau))
    for bidirectional in (True, False):
        got = info_nce(x, x, temperature=tau, bidirectional=bidirectional)
        assert got.item() == pytest.approx(expected, abs=1e-6)
    # scaling the vectors changes nothing under cosine similarity ...
    assert info_nce(3 * x, 0.5 * x, temperature=tau).item() == pytest.approx(expected, abs=1e-6)
    # ... but does with raw dot products: logits 1.5 / tau on the diagonal
    raw = info_nce(3 * x, 0.5 * x, temperature=tau, normalize=False).item()
    assert raw == pytest.approx(math.log(1 + 2 * math.exp(-1.5 / tau)), abs=1e-6)


def test_margin_is_subtracted_from_positives_and_raises_the_loss() -> None:
    x = torch.eye(3)
    tau, m = 0.5, 0.3
    expected = math.log(1 + 2 * math.exp(-(1 - m) / tau))
    assert info_nce(x, x, temperature=tau, margin=m).item() == pytest.approx(expected, abs=1e-6)
    logits = info_nce_logits(x, x, temperature=tau, margin=m)
    assert torch.allclose(logits.diagonal(), torch.full((3,), (1 - m) / tau))
    assert torch.allclose(logits - torch.diag(logits.diagonal()), torch.zeros(3, 3))
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    values = [info_nce(a, b, temperature=0.1, margin=mm).item() for mm in (0.0, 0.1, 0.2, 0.4)]
    assert values == sorted(values) and values[-1] > values[0]


def test_bidirectional_is_the_mean_of_both_directions_and_symmetric() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    fwd = info_nce(a, b, temperature=0.2, bidirectional=False)
    bwd = info_nce(b, a, temperature=0.2, bidirectional=False)
    assert not torch.isclose(fwd, bwd)  # a random example is not symmetric by accident
    both = info_nce(a, b, temperature=0.2)
    assert both.item() == pytest.approx((fwd.item() + bwd.item()) / 2, abs=1e-6)
    assert both.item() == pytest.approx(info_nce(b, a, temperature=0.2).item(), abs=1e-6)
    assert InfoNCELoss(temperature=0.2)(a, b).item() == pytest.approx(both.item(), abs=1e-6)


def test_info_nce_gradients_reach_both_inputs_and_pull_positives_together() -> None:
    g = torch.Generator().manual_seed(2)
    a = torch.randn(5, 4, generator=g, requires_grad=True)
    b = torch.randn(5, 4, generator=g, requires_grad=True)
    info_nce(a, b, temperature=0.1, margin=0.2).backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0
    # a small step against the gradient lowers the loss
    with torch.no_grad():
        before = info_nce(a, b, temperature=0.1, margin=0.2)
        after = info_nce(a - 0.05 * a.grad, b - 0.05 * b.grad, temperature=0.1, margin=0.2)
    assert after < before


@pytest.mark.parametrize("src,tgt,match", [
    (torch.zeros(0, 4), torch.zeros(0, 4), "src is an empty batch"),
    (torch.zeros(3, 4), torch.zeros(2, 4), r"src has shape \(3, 4\) and tgt has shape \(2, 4\)"),
    (torch.zeros(3, 4), torch.zeros(3, 5), "same B and D"),
    (torch.zeros(4), torch.zeros(4), r"src must be 2-D \(B, D\)"),
])
def test_info_nce_rejects_empty_or_mismatched_batches(src, tgt, match) -> None:
    with pytest.raises(ValueError, match=match):
        info_nce(src, tgt)


def test_info_nce_rejects_bad_temperature() -> None:
    with pytest.raises(ValueError, match="temperature must be a positive"):
        info_nce(torch.eye(2), torch.eye(2), temperature=0.0)
    with pytest.raises(ValueError, match="temperature must be a positive"):
        InfoNCELoss(temperature=-1.0)
    with pytest.raises(ValueError, match=r"temperature must be a scalar, got a tensor of shape"):
        info_nce(torch.eye(2), torch.eye(2), temperature=torch.ones(2))
    # a 0-d tensor temperature (e.g. a learnable one) is accepted and used
    tau = torch.tensor(0.5)
    assert info_nce(torch.eye(2), torch.eye(2), temperature=tau).item() == pytest.approx(
        math.log(1 + math.exp(-2)), abs=1e-6)


# ----------------------------------------------------------------- word alignment


def _two_sentences() -> tuple[torch.Tensor, torch.Tensor]:
    """Two sentences of two tokens per side; token (b, i) is the unit vector e_{2b+i}."""
    h = torch.eye(4).reshape(2, 2, 4)
    return h.clone(), h.clone()


def test_word_alignment_loss_hand_values_for_each_negative_set() -> None:
    src, tgt = _two_sentences()
    links = [(0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 1)]
    e = math.e
    # batch: 1 positive (cos 1) + 3 negatives (cos 0) per link
    got = word_alignment_loss(src, tgt, links, temperature=1.0, negatives="batch")
    assert got.item() == pytest.approx(math.log(1 + 3 / e), abs=1e-6)
    # sentence: only the other token of the same sentence is a negative
    got = word_alignment_loss(src, tgt, links, temperature=1.0, negatives="sentence")
    assert got.item() == pytest.approx(math.log(1 + 1 / e), abs=1e-6)
    # aligned: only tokens that take part in a link; drop sentence 1's links -> 1 negative
    got = word_alignment_loss(src, tgt, links[:2], temperature=1.0, negatives="aligned")
    assert got.item() == pytest.approx(math.log(1 + 1 / e), abs=1e-6)
    # the target mask removes candidates (padding, specials): mask out sentence 1's token 1
    mask = torch.tensor([[True, True], [True, False]])
    got = word_alignment_loss(src, tgt, links[:3], tgt_mask=mask, temperature=1.0,
                              bidirectional=False)
    assert got.item() == pytest.approx(math.log(1 + 2 / e), abs=1e-6)
    module = WordAlignmentLoss(temperature=1.0, negatives="sentence")
    assert module(src, tgt, links).item() == pytest.approx(math.log(1 + 1 / e), abs=1e-6)


def test_word_alignment_other_gold_targets_are_not_negatives() -> None:
    src, tgt = _two_sentences()
    # source token (0, 0) is aligned to both target tokens of sentence 0 (one-to-many)
    links = [(0, 0, 0), (0, 0, 1)]
    got = word_alignment_loss(src, tgt, links, temperature=1.0, bidirectional=False)
    # link (0,0,0): candidates = itself (cos 1) + sentence 1's two tokens (cos 0)
    # link (0,0,1): candidates = itself (cos 0) + sentence 1's two tokens (cos 0)
    expected = (math.log(1 + 2 / math.e) + math.log(3)) / 2
    assert got.item() == pytest.approx(expected, abs=1e-6)


def test_word_alignment_bidirectional_symmetry_and_gradients() -> None:
    g = torch.Generator().manual_seed(3)
    src = torch.randn(2, 5, 8, generator=g, requires_grad=True)
    tgt = torch.randn(2, 4, 8, generator=g, requires_grad=True)
    links = [(0, 1, 0), (0, 2, 3), (1, 0, 1), (1, 4, 2)]
    rev = [(b, j, i) for b, i, j in links]
    both = word_alignment_loss(src, tgt, links)
    assert both.item() == pytest.approx(word_alignment_loss(tgt, src, rev).item(), abs=1e-6)
    fwd = word_alignment_loss(src, tgt, links, bidirectional=False)
    bwd = word_alignment_loss(tgt, src, rev, bidirectional=False)
    assert both.item() == pytest.approx((fwd.item() + bwd.item()) / 2, abs=1e-6)
    both.backward()
    assert src.grad is not None and tgt.grad is not None
    assert src.grad[0, 1].abs().sum() > 0 and tgt.grad[1, 2].abs().sum() > 0


def test_word_alignment_errors_name_the_argument() -> None:
    src, tgt = _two_sentences()
    with pytest.raises(ValueError, match="links is empty"):
        word_alignment_loss(src, tgt, [])
    with pytest.raises(ValueError, match=r"links\[1\] = \(0, 2, 0\): src position out of range"):
        word_alignment_loss(src, tgt, [(0, 0, 0), (0, 2, 0)])
    with pytest.raises(ValueError, match="batch index out of range"):
        word_alignment_loss(src, tgt, [(5, 0, 0)])
    with pytest.raises(ValueError, match=r"shape \(K, 3\)"):
        word_alignment_loss(src, tgt, torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="must agree in batch size B and width D"):
        word_alignment_loss(src, tgt[:1], [(0, 0, 0)])
    with pytest.raises(ValueError, match=r"src_states must be 3-D \(B, T, D\)"):
        word_alignment_loss(src[0], tgt, [(0, 0, 0)])
    with pytest.raises(ValueError, match="tgt_states is empty"):
        word_alignment_loss(src, tgt[:, :0], [(0, 0, 0)])
    with pytest.raises(ValueError, match="tgt_mask has shape"):
        word_alignment_loss(src, tgt, [(0, 0, 0)], tgt_mask=torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="masked"):
        word_alignment_loss(src, tgt, [(0, 0, 1)], tgt_mask=torch.tensor([[1, 0], [1, 1]]))
    with pytest.raises(ValueError, match="negatives must be one of"):
        word_alignment_loss(src, tgt, [(0, 0, 0)], negatives="all")  # type: ignore[arg-type]


# ----------------------------------------------------------------- word ids -> subwords


def _wordpiece_tokenizer(corpus: list[str]) -> PreTrainedTokenizerFast:
    """A small WordPiece tokenizer trained on ``corpus`` (words split into several pieces)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tk = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tk.decoder = decoders.WordPiece()
    tk.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=80,
                                                             special_tokens=specials))
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tk.token_to_id("[CLS]")), ("[SEP]", tk.token_to_id("[SEP]"))])
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def test_word_ids_mapping_on_the_toy_word_tokenizer(small_world) -> None:
    pair = small_world.parallel("L0", "L1", 1, seed=4)[0]
    tok = build_word_tokenizer(small_world.vocabulary())
    enc = tok([list(pair.src.tokens), list(pair.tgt.tokens)], is_split_into_words=True)
    src_ids, tgt_ids = enc.word_ids(0), enc.word_ids(1)
    # one token per word, after [CLS]: word w sits at position w + 1
    assert word_positions(src_ids) == {w: [w + 1] for w in range(len(pair.src.tokens))}
    links = align_tokens(pair.alignment, src_ids, tgt_ids)
    assert links == [(i + 1, j + 1) for i, j in pair.alignment]


def test_word_ids_mapping_on_a_subword_tokenizer(small_world) -> None:
    tok = _wordpiece_tokenizer(small_world.corpus("L0", 200) + small_world.corpus("L1", 200))
    pair = next(p for p in small_world.parallel("L0", "L1", 50, seed=5)
                if len(tok.tokenize(" ".join(p.src.tokens))) > len(p.src.tokens))
    enc = tok([list(pair.src.tokens), list(pair.tgt.tokens)], is_split_into_words=True,
              padding=True)
    src_ids, tgt_ids = enc.word_ids(0), enc.word_ids(1)
    pieces = tok.convert_ids_to_tokens(enc["input_ids"][0])
    groups = word_positions(src_ids)
    assert sorted(groups) == list(range(len(pair.src.tokens)))
    assert any(len(v) > 1 for v in groups.values())  # some word really is split
    for w, positions in groups.items():  # the pieces of word w spell word w
        assert "".join(pieces[p].removeprefix("##") for p in positions) == pair.src.tokens[w]
    links = align_tokens(pair.alignment, src_ids, tgt_ids)
    tgt_groups = word_positions(tgt_ids)
    assert links == [(groups[i][0], tgt_groups[j][0]) for i, j in pair.alignment]
    # word states: first subword, or the mean over the word's subwords
    hidden = torch.randn(2, len(src_ids), 3)
    first, mask = word_states(hidden, [src_ids, tgt_ids], "first")
    mean, _ = word_states(hidden, [src_ids, tgt_ids], "mean")
    n_src, n_tgt = len(pair.src.tokens), len(pair.tgt.tokens)
    assert mask.shape == (2, max(n_src, n_tgt))
    assert mask[0].sum() == n_src and mask[1].sum() == n_tgt
    for w, positions in groups.items():
        assert torch.allclose(first[0, w], hidden[0, positions[0]])
        assert torch.allclose(mean[0, w], hidden[0, positions].mean(0), atol=1e-6)


def test_truncated_words_are_dropped_from_the_mapping() -> None:
    ids = [None, 0, 1, 1, None]  # word 2 lost to truncation
    assert align_tokens([(0, 0), (2, 1)], ids, [None, 0, 1, None]) == [(1, 1)]
    with pytest.raises(ValueError, match="word_ids has 1 rows for a batch of 2"):
        word_states(torch.zeros(2, 5, 3), [ids])
    with pytest.raises(ValueError, match="mode must be"):
        word_states(torch.zeros(1, 5, 3), [ids], "last")  # type: ignore[arg-type]


# ----------------------------------------------------------------- drift


def test_drift_is_zero_at_start_and_the_squared_distance_after_a_change() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    reg = DriftRegularizer(net)
    assert reg(net).item() == 0.0
    with torch.no_grad():
        net[0].weight[0, 0] += 0.5
        net[2].bias -= 2.0
    assert reg(net).item() == pytest.approx(0.25 + 4.0)
    # the snapshot was a copy: changing the model did not move it
    assert reg.reference["2.bias"].item() == pytest.approx(net[2].bias.item() + 2.0)
    # gradient of sum ||theta - theta0||^2 is 2 (theta - theta0)
    net.zero_grad()
    reg(net).backward()
    assert net[2].bias.grad.item() == pytest.approx(-4.0)
    assert net[0].weight.grad[0, 0].item() == pytest.approx(1.0)
    assert net[0].weight.grad[1].abs().sum().item() == 0.0


def test_drift_errors_and_frozen_parameters() -> None:
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="parameter 'weight' has shape"):
        l2_drift(b, snapshot(a))
    with pytest.raises(ValueError, match="missing from the model"):
        l2_drift(torch.nn.Sequential(a), snapshot(a))
    with pytest.raises(ValueError, match="reference is empty"):
        l2_drift(a, {})
    a.bias.requires_grad_(False)
    assert sorted(snapshot(a)) == ["weight"]
    assert sorted(snapshot(a, trainable_only=False)) == ["bias", "weight"]
    a.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="no \\(trainable\\) parameters"):
        DriftRegularizer(a)


# ----------------------------------------------------------------- CLIP


def test_clip_loss_is_symmetric_info_nce_and_hand_checked() -> None:
    t = torch.eye(4)
    tau = 0.07
    assert clip_loss(t, t, temperature=tau).item() == pytest.approx(
        math.log(1 + 3 * math.exp(-1 / tau)), rel=1e-5, abs=1e-7)
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    assert clip_loss(a, b, temperature=0.1).item() == pytest.approx(
        info_nce(a, b, temperature=0.1, bidirectional=True).item(), abs=1e-6)
    assert clip_loss(a, b).item() == pytest.approx(clip_loss(b, a).item(), rel=1e-6)
    with pytest.raises(ValueError, match="text has shape"):
        clip_loss(a, b[:5])
    with pytest.raises(ValueError, match="image is an empty batch"):
        clip_loss(a, torch.zeros(0, 5))


def test_clip_module_learnable_and_fixed_temperature() -> None:
    fixed = CLIPLoss(temperature=0.1)
    assert list(fixed.parameters()) == [] and fixed.temperature == pytest.approx(0.1)
    learn = CLIPLoss(temperature=0.1, learnable=True)
    g = torch.Generator().manual_seed(5)
    a = torch.randn(4, 3, generator=g, requires_grad=True)
    b = torch.randn(4, 3, generator=g)
    loss = learn(a, b)
    assert loss.item() == pytest.approx(clip_loss(a, b, temperature=0.1).item(), abs=1e-6)
    loss.backward()
    assert learn.logit_scale.grad is not None and learn.logit_scale.grad.abs() > 0
    assert a.grad is not None and a.grad.abs().sum() > 0
    with torch.no_grad():  # the inverse temperature is capped at 100, as in CLIP
        learn.logit_scale.fill_(10.0)
    assert learn.temperature == pytest.approx(0.01)


def test_image_projector_maps_features_and_trains() -> None:
    torch.manual_seed(0)
    proj = ImageProjector(6, 4)
    feats = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    out = proj(feats)
    assert out.shape == (5, 4)
    text = torch.randn(5, 4)
    clip_loss(text, out, temperature=0.1).backward()
    assert proj.proj.weight.grad is not None and proj.proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"images must have shape \(B, 6\)"):
        proj(np.zeros((5, 7), dtype=np.float32))
    with pytest.raises(ValueError, match="must be positive"):
        ImageProjector(0, 4)
