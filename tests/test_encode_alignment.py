from __future__ import annotations

import pytest
import torch

from xtutor.alignment import retrieval_accuracy, retrieval_both_directions, similarity
from xtutor.encode import encode, encode_layers, pool


def test_encode_keeps_input_order_and_matches_single_encoding(tiny_encoder) -> None:
    model, tok = tiny_encoder
    texts = ["ka", "a b c d e f", "x y", "a b c"] * 5
    texts = [t for t in texts]
    batched = encode(model, tok, texts, batch_size=3)
    single = torch.cat([encode(model, tok, [t]) for t in texts])
    assert torch.allclose(batched, single, atol=1e-5)
    assert torch.allclose(batched.norm(dim=1), torch.ones(len(texts)), atol=1e-5)


def test_encode_layers_shapes_and_cls_pooling(tiny_encoder) -> None:
    model, tok = tiny_encoder
    out = encode_layers(model, tok, ["a", "b c"], layers=[0, -1])
    assert out.shape == (2, 2, 32)
    cls = encode(model, tok, ["a", "b c"], pooling="cls", normalize=False)
    assert cls.shape == (2, 32)
    with pytest.raises(ValueError, match="layer 9 out of range"):
        encode_layers(model, tok, ["a"], layers=[9])
    with pytest.raises(ValueError, match="empty"):
        encode(model, tok, [])
    with pytest.raises(TypeError, match="single string"):
        encode(model, tok, "abc")  # type: ignore[arg-type]


def test_pool_mean_ignores_padding() -> None:
    h = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [50.0, 50.0]]])
    assert pool(h, torch.tensor([[1, 1, 0]]), "mean").tolist() == [[2.0, 2.0]]
    assert pool(h, torch.tensor([[1, 1, 0]]), "cls").tolist() == [[1.0, 1.0]]


def test_retrieval_accuracy_constructed_cases() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 16, generator=g)
    assert retrieval_accuracy(x, x + 0.01 * torch.randn(50, 16, generator=g)) == 1.0
    assert retrieval_accuracy(x, x.roll(1, 0)) == 0.0
    assert retrieval_both_directions(x, x, "csls") == (1.0, 1.0)
    # hubs: candidates with a large shared component are near every query and steal cosine
    # retrieval; CSLS and the ratio margin discount them
    n, d = 200, 32
    u = torch.nn.functional.normalize(torch.randn(d, generator=g), dim=0)
    base = torch.randn(n, d, generator=g)
    c = base + 0.5 * torch.randn(n, d, generator=g) + torch.rand(n, 1, generator=g) ** 4 * 40 * u
    q = base + 4 * u
    cos = retrieval_accuracy(q, c, "cosine")
    assert retrieval_accuracy(q, c, "csls") > cos + 0.03
    assert retrieval_accuracy(q, c, "margin") > cos + 0.03
    s = similarity(q, c, "margin", k=2)
    assert s.shape == (n, n)
    with pytest.raises(ValueError, match="same shape"):
        retrieval_accuracy(x, x[:10])
    with pytest.raises(ValueError, match="scoring"):
        similarity(x, x, "dot")  # type: ignore[arg-type]
