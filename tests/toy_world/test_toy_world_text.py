"""Words of the toy world: SRL prompts match the VidSitu builder's, the tokenizer covers every word."""

import numpy as np

from dataset_scripts.toy_world import world_clips, world_vocabulary
from dataset_scripts.toy_world.benchmarks import order_records, verb_replace_items, web_retrieval_rows
from dataset_scripts.toy_world.grammar import VERBS
from dataset_scripts.toy_world.release import annotation
from dataset_scripts.toy_world.text import natural_caption, pos_tagger, world_srl_prompt, verb_swapped_srl_prompt, web_caption
from dataset_scripts.toy_world.world import WorldConfig
from dataset_scripts.vidsitu import parse_event, srl_prompt as builder_srl_prompt
from dataset_scripts.vidsitu.lexicon import VerbLexicon
from dataset_scripts.vidsitu.negatives import verb_role_negatives
from modeling_figclip.tokenization_utils import build_word_level_clip_tokenizer

CONFIG = WorldConfig(seed=11, num_pretrain_clips=20, num_train_clips=20, num_valid_clips=2, num_benchmark_clips=20)


def _texts():
    clips = world_clips(CONFIG)
    rng = np.random.default_rng(0)
    texts = []
    for clip in clips["pretrain"] + clips["benchmark"]:
        for event in clip.events:
            texts += [(world_srl_prompt(clip, event), "prompt"), (natural_caption(clip, event, with_modifiers=True), "natural"),
                      (web_caption(clip, rng, event), "web")]
    srl, natural = verb_replace_items(clips["benchmark"], 0)
    texts += [(item["negative_caption"], "prompt") for item in list(srl.values()) + list(natural.values())]
    texts += [(row["sentence"], "web") for row in web_retrieval_rows(clips["benchmark"], 0)]
    return texts


def test_prompts_equal_the_builders():
    for clip in world_clips(CONFIG)["train"]:
        for name, raw in annotation(clip).items():
            event = clip.events[int(name[2:]) - 1]
            assert world_srl_prompt(clip, event) == builder_srl_prompt(raw)


def test_verb_swaps_are_builder_negatives():
    """The SRL verb-replacement negatives follow the builder's verb-role-swap rule (one of its candidates)."""
    clips = world_clips(CONFIG)["train"]
    events = [parse_event(raw) for clip in clips for raw in annotation(clip).values()]
    lexicon = VerbLexicon.from_events(events)
    for clip in clips[:5]:
        for name, raw in annotation(clip).items():
            event = clip.events[int(name[2:]) - 1]
            candidates = set(verb_role_negatives(parse_event(raw), lexicon, n=len(VERBS), rng=0))
            for verb in VERBS.values():
                same_slots = [k.split()[0] for k in verb.arg_keys] == [k.split()[0] for k in event.verb.arg_keys]
                if same_slots and verb.verb_id != event.verb_id and lexicon.get(verb.verb_id) is not None:
                    assert verb_swapped_srl_prompt(clip, event, verb) in candidates


def test_world_text_fits_the_tokenizer():
    """Every caption and prompt is made of world words and round-trips through the world tokenizer; prompts and test
    captions fit CLIP's 77 tokens untruncated (web captions may be longer, as on the web, and get truncated)."""
    tokenizer = build_word_level_clip_tokenizer(world_vocabulary(), model_max_length=77)
    vocabulary = set(world_vocabulary())
    for text, kind in _texts():
        words = text.lower().replace(",", " ").replace(".", " ").split()
        assert set(words) <= vocabulary, set(words) - vocabulary
        ids = tokenizer(text)["input_ids"]
        assert kind == "web" or len(ids) <= 77
        assert tokenizer.decode(ids, skip_special_tokens=True).replace(" ,", ",").replace(" .", ".") == text.lower()


def test_pos_tagger_knows_every_caption_word():
    for record in order_records(world_clips(CONFIG)["benchmark"]):
        tags = pos_tagger(record["caption"][0])
        nouns = [token for token, tag in tags if tag == "NN"]
        adjectives = [token for token, tag in tags if tag == "JJ"]
        assert len(adjectives) == 2 * sum(1 for t, _ in tags if t in ("circle", "square", "triangle", "cross"))
        assert nouns and adjectives


def test_web_captions_have_no_role_order():
    """Across many captions of the same event, either participant is named first about half the time."""
    clip = next(c for c in world_clips(CONFIG)["pretrain"] if any(e.verb.transitive for e in c.events))
    event = next(e for e in clip.events if e.verb.transitive)
    first = clip.cast[event.participants[0]]
    rng = np.random.default_rng(1)
    firsts = []
    for _ in range(400):
        caption = web_caption(clip, rng, event)
        positions = [caption.find(f"{entity.colour} {entity.shape}") for entity in clip.cast]
        firsts.append(positions[event.participants[0]] < positions[event.participants[1]])
    assert 0.4 < np.mean(firsts) < 0.6
    assert first.noun_phrase  # (sanity: the cast is named by colour + shape in every caption)
