"""FigClipProcessor: frames in every accepted form → model inputs; padding masks; save/load; the empty-tokenizer trap."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPImageProcessor, CLIPTokenizer

from figclip_test_utils import make_model
from modeling_figclip import FigClipProcessor


def frames(events, frames_per_event, seed=0, size=(40, 48)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (events, frames_per_event, *size, 3), dtype=np.uint8)


def test_uint8_arrays_pil_and_tensors_give_identical_pixels(processor):
    clip = frames(5, 4)
    as_pil = [[Image.fromarray(f) for f in event] for event in clip]
    as_tensor_chw = torch.from_numpy(clip).permute(0, 1, 4, 2, 3)
    out = [processor(videos=v)["pixel_values_videos"] for v in (clip, as_pil, as_tensor_chw)]
    assert out[0].shape == (1, 5, 4, 3, 32, 32)
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out[0], out[2])


def test_batch_with_fewer_events_frames_and_negatives_is_padded_and_masked(processor):
    clips = [frames(5, 4, seed=1), frames(2, 3, seed=2)]
    text = [["walk"] * 5, ["jog", "run"]]
    negatives = [[["jog"], ["run", "hit"], [], ["walk"], ["talk"]], [["walk"], ["jog", "hit"]]]
    out = processor(videos=clips, text=text, negative_text=negatives)
    assert out["pixel_values_videos"].shape == (2, 5, 4, 3, 32, 32)
    assert out["event_mask"].tolist() == [[True] * 5, [True, True, False, False, False]]
    assert out["frame_mask"][1].tolist() == [[True, True, True, False], [True, True, True, False]] + [[False] * 4] * 3
    assert out["input_ids"].shape[:2] == (2, 5) and out["attention_mask"][1, 2:].sum() == 0
    assert out["negative_input_ids"].shape[:3] == (2, 5, 2)
    assert out["negative_mask"][0].tolist() == [[True, False], [True, True], [False, False], [True, False], [True, False]]
    torch.testing.assert_close(out["pixel_values_videos"][1, 1, 3], torch.zeros(3, 32, 32))
    model = make_model()
    with torch.no_grad():
        result = model(**out)
    assert result.logits_clip_event.shape == (7, 7) and torch.isfinite(result.loss)


def test_prompt_count_must_match_events(processor):
    with pytest.raises(ValueError, match=r"text\[0\] has 4 prompts but clip 0 has 5 events"):
        processor(videos=[frames(5, 4)], text=[["walk"] * 4])
    with pytest.raises(ValueError, match=r"videos\[0\] must be shaped \(events, frames, H, W, C\)"):
        processor(videos=[frames(1, 1)[0, 0], frames(1, 1)[0, 0]])  # a list of frames is not a clip
    with pytest.raises(ValueError, match="event 1 is a single frame"):
        processor(videos=[[[frames(1, 1)[0, 0]], frames(1, 1)[0, 0]]])


def test_save_and_load(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    loaded = FigClipProcessor.from_pretrained(tmp_path)
    clip = frames(3, 2)
    torch.testing.assert_close(loaded(videos=clip)["pixel_values_videos"], processor(videos=clip)["pixel_values_videos"])
    assert loaded(text=["a red dog"])["input_ids"].tolist() == processor(text=["a red dog"])["input_ids"].tolist()


def test_empty_tokenizer_is_rejected(tmp_path, processor):
    empty = CLIPTokenizer.from_pretrained(tmp_path)  # the offline trap: no files, no error, 2 tokens
    with pytest.raises(ValueError, match="only .* tokens"):
        FigClipProcessor(image_processor=processor.image_processor, tokenizer=empty)


def test_word_level_tokenizer_keeps_every_word_whole(tmp_path):
    """BPE applies merges by rank, so words that share pieces used to be cut apart ("small" by the (m, a) merge of
    "manner": s|ma|l|l). Every listed word must be one token, also after a save/load round trip."""
    from transformers import AutoTokenizer

    from modeling_figclip.tokenization_utils import build_word_level_clip_tokenizer

    words = ["manner", "small", "street", "tree", "streets", "counterclockwise", "clockwise", "a", "aa", "aaa"]
    tokenizer = build_word_level_clip_tokenizer(words)
    tokenizer.save_pretrained(tmp_path)
    for loaded in (tokenizer, AutoTokenizer.from_pretrained(tmp_path)):
        for word in words:
            assert loaded.tokenize(word) == [word + "</w>"], word
        assert loaded.tokenize("small manner") == ["small</w>", "manner</w>"]
        assert loaded.tokenize("smaller") != ["smaller</w>"]  # words outside the list still fall back to pieces


def test_negatives_are_padded_in_one_place_to_a_fixed_count():
    from modeling_figclip.processing_figclip import pad_negative_texts

    negatives = [[["a b", "c"], []], [["d"]]]  # clip 1 has one event only
    flat, valid = pad_negative_texts(negatives, num_negatives=3)
    assert valid.shape == (2, 2, 3)
    assert valid.tolist() == [[[True, True, False], [False, False, False]], [[True, False, False], [False, False, False]]]
    assert flat == ["a b", "c", "", "", "", "", "d", "", "", "", "", ""]
    flat, valid = pad_negative_texts([[["x", "y", "z"]]], num_negatives=2)  # cut to N
    assert flat == ["x", "y"] and valid.all()


def test_processor_pads_negatives_to_the_requested_count(tokenizer):
    processor = FigClipProcessor(image_processor=CLIPImageProcessor(), tokenizer=tokenizer)
    prompts = [["the walker is man", "the talker is woman"]]
    out = processor(text=prompts, negative_text=[[["the jogger is man"], []]], num_negatives=4)
    assert out["negative_input_ids"].shape[:3] == (1, 2, 4)
    assert out["negative_mask"].tolist() == [[[True, False, False, False], [False] * 4]]
    assert out["negative_attention_mask"][0, 1].sum() == 0 and out["negative_attention_mask"][0, 0, 0].sum() > 0
