"""GLUE-X-style OOD evaluation on the project's GLUE-X fixtures (Hub export format)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    PreTrainedTokenizerFast,
)

from xtutor.data.types import NLI_LABELS, PairDataset
from xtutor.experiments.ood import (
    gluex_ood_study,
    load_ood_sets,
    ood_accuracy,
    ood_sets,
    run_gluex_ood,
)

FIX = Path(__file__).parent / "fixtures" / "gluex"


@pytest.fixture(scope="module")
def sets() -> dict[str, PairDataset]:
    return load_ood_sets("mnli", ["snli", "sick"], path=FIX)


@pytest.fixture(scope="module")
def tok(sets: dict[str, PairDataset]) -> PreTrainedTokenizerFast:
    corpus = [t for d in sets.values() for ex in d for t in (ex.premise, ex.hypothesis)]
    from tests.test_align_training import _subword_tokenizer

    return _subword_tokenizer(corpus, xlmr_style=False)


def _config(tok: PreTrainedTokenizerFast) -> BertConfig:
    return BertConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
                      pad_token_id=tok.pad_token_id, num_labels=3,
                      id2label=dict(enumerate(NLI_LABELS)),
                      label2id={n: i for i, n in enumerate(NLI_LABELS)})


def test_ood_sets_of_a_task() -> None:
    assert ood_sets("mnli") == ("mnli_mm", "snli", "sick")
    with pytest.raises(ValueError, match="single task"):
        ood_sets("sst2")
    with pytest.raises(ValueError, match="unknown GLUE-X task"):
        ood_sets("nli")


def test_loaded_sets_use_the_mnli_label_order(sets: dict[str, PairDataset]) -> None:
    assert set(sets) == {"snli", "sick"}
    assert all(d.label_names == NLI_LABELS for d in sets.values())
    assert all(len(d) > 0 for d in sets.values())
    with pytest.raises(ValueError, match="sets is empty"):
        load_ood_sets("mnli", [], path=FIX)


def test_a_constant_classifier_scores_its_label_frequency(sets, tok) -> None:
    torch.manual_seed(0)
    clf = BertForSequenceClassification(_config(tok)).eval()
    with torch.no_grad():  # always "neutral", whatever the input
        clf.classifier.weight.zero_()
        clf.classifier.bias.copy_(torch.tensor([0.0, 5.0, 0.0]))
    named = {"validation": sets["snli"], "sick": sets["sick"]}
    recs = ood_accuracy(clf, tok, named, model_name="constant", method="plain")
    acc = {r.task: r.value for r in recs if r.metric == "accuracy"}
    freq = {n: sum(y == 1 for y in d.labels) / len(d) for n, d in named.items()}
    assert acc == {"mnli:validation": pytest.approx(freq["validation"]),
                   "mnli:sick": pytest.approx(freq["sick"])}
    gap = [r for r in recs if r.metric == "ood_gap"]
    assert len(gap) == 1 and gap[0].task == "mnli:sick"
    assert gap[0].value == pytest.approx(freq["validation"] - freq["sick"])


def test_label_order_mismatch_is_refused(sets, tok) -> None:
    cfg = _config(tok)
    cfg.id2label = dict(enumerate(reversed(NLI_LABELS)))
    with pytest.raises(ValueError, match="label"):
        ood_accuracy(BertForSequenceClassification(cfg).eval(), tok, {"snli": sets["snli"]})


def test_gluex_ood_study_fine_tunes_each_method(sets, tok) -> None:
    from xtutor.training import FinetuneConfig

    torch.manual_seed(0)
    cfg = _config(tok)
    enc = BertModel(cfg)
    train = PairDataset("nli", NLI_LABELS, list(sets["snli"]) * 4)
    recs = gluex_ood_study(enc, tok, train, {"validation": sets["snli"], "sick": sets["sick"]},
                           methods=["plain", "free"], seeds=[0, 1], model_name="tiny",
                           finetune_config=FinetuneConfig(epochs=1, batch_size=4, lr=1e-3))
    acc = [r for r in recs if r.metric == "accuracy"]
    assert len(acc) == 2 * 2 * 2  # seeds x methods x sets
    assert {r.method for r in recs} == {"plain", "free"}
    assert all(0 <= r.value <= 1 for r in acc)
    assert sum(r.metric == "train_seconds" for r in recs) == 4
    with pytest.raises(ValueError, match="need dictionaries"):
        gluex_ood_study(enc, tok, train, sets, methods=["smoothing"])
    with pytest.raises(ValueError, match="not supported"):
        gluex_ood_study(enc, tok, train, sets, methods=["contrastive"])


def test_run_gluex_ood_from_local_files(tmp_path: Path, sets, tok) -> None:
    """The Colab cell's code path, offline: every set from local Hub-format files."""
    import json

    from xtutor.training import FinetuneConfig

    folder = tmp_path / "mnli"
    folder.mkdir()
    rows = [{"premise": ex.premise, "hypothesis": ex.hypothesis, "label": ex.label}
            for ex in sets["snli"]]
    for name in ("train", "validation", "mnli_mm", "snli"):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows * 3))
    (folder / "sick.tsv").write_text((FIX / "mnli" / "sick.tsv").read_text())
    model_dir = tmp_path / "tiny-bert"
    torch.manual_seed(0)
    BertModel(_config(tok)).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    recs = run_gluex_ood(str(model_dir), path=tmp_path, n_train=12, n_eval=6,
                         methods=["plain"], seeds=[0],
                         finetune_config=FinetuneConfig(epochs=1, batch_size=4))
    tasks = {r.task for r in recs if r.metric == "accuracy"}
    assert tasks == {"mnli:validation", "mnli:mnli_mm", "mnli:snli", "mnli:sick"}
    assert {r.task for r in recs if r.metric == "ood_gap"} == tasks - {"mnli:validation"}
    assert all(r.n <= 6 for r in recs if r.metric == "accuracy")
