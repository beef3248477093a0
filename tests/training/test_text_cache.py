"""The frozen-text-tower embedding cache: a string's embedding depends on the string alone, bit for bit."""

import torch
import torch.nn.functional as F
from transformers import CLIPModel

from modeling_figclip.testing_utils import tiny_clip_config, tiny_tokenizer
from modeling_figclip.training.text_cache import TextEmbeddingCache
from modeling_figclip.utils import to_embedding_tensor

SHORT = "a man walk"
LONG = "in this photo the action is walk where the walker is man with short hair and scene of event is street"
OTHERS = ["a dog run quickly", "the boy talk", "a girl hit the thing", "red blue green", "man walk slowly left"]


def tiny_model_and_tokenizer():
    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    return CLIPModel(tiny_clip_config(tokenizer)).eval(), tokenizer


def test_embedding_does_not_depend_on_batch_mates_or_fill_order():
    model, tokenizer = tiny_model_and_tokenizer()
    alone = TextEmbeddingCache(tokenizer, batch_size=4)
    alone.fill(model, [SHORT])
    crowded = TextEmbeddingCache(tokenizer, batch_size=4)
    crowded.fill(model, [LONG, *OTHERS, SHORT])  # 7 strings: a full chunk and a short one
    assert torch.equal(alone.lookup([SHORT]), crowded.lookup([SHORT]))
    # Another process / a resumed run meets the strings in other fills.
    other_order = TextEmbeddingCache(tokenizer, batch_size=4)
    for texts in (OTHERS[3:], [SHORT, LONG], OTHERS[:3]):
        other_order.fill(model, texts)
    everything = [SHORT, LONG, *OTHERS]
    assert torch.equal(other_order.lookup(everything), crowded.lookup(everything))
    assert crowded.misses == 7 and len(crowded) == 7


def test_embeddings_match_the_text_tower_and_hits_are_counted():
    model, tokenizer = tiny_model_and_tokenizer()
    cache = TextEmbeddingCache(tokenizer, batch_size=4)
    cache.fill(model, [SHORT, LONG])
    cache.fill(model, [SHORT])  # already cached: a hit, not re-encoded
    assert cache.hits == 1 and cache.misses == 2
    for text in (SHORT, LONG):
        encoded = tokenizer([text], return_tensors="pt")  # one string, no padding at all
        with torch.no_grad():
            expected = F.normalize(to_embedding_tensor(model.get_text_features(**encoded)), dim=-1)[0]
        torch.testing.assert_close(cache.lookup([text])[0], expected, atol=1e-6, rtol=1e-5)
