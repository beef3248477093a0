"""Test helpers for the evaluation suite: tiny random checkpoints and small data in the official formats.

Everything is deterministic (seeded) and written under a pytest `tmp_path`; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from transformers import CLIPImageProcessor, CLIPModel

from dataset_scripts.benchmarks.video_io import write_test_video
from modeling_figclip.testing_utils import tiny_clip_config, tiny_clip_config_dict, tiny_tokenizer

CAPTION_WORDS = (
    "a man walks a red dog on the street",
    "a woman talks to a boy in the apartment",
    "the blue dog runs with a girl by the lake",
    "a green shirt on the man with short hair",
)


# ----------------------------------------------------------------------------------------------------------- models
def save_tiny_model(path: str, seed: int = 0, figclip: bool = False) -> str:
    """A tiny random CLIP (or FiGCLIP) checkpoint with its tokenizer and a 32x32 CLIPImageProcessor."""
    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    if figclip:
        from modeling_figclip import FigClipConfig, FigClipModel

        model = FigClipModel(
            FigClipConfig(**tiny_clip_config_dict(tokenizer), vc_num_layers=1, vc_num_attention_heads=4)
        )
    else:
        model = CLIPModel(tiny_clip_config(tokenizer))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return path


def fake_pos_tagger():
    """A `Tagger` factory for tests: a small lexicon instead of spaCy (Penn tags; punctuation split off)."""
    nouns = {"man", "dog", "street", "woman", "boy", "apartment", "girl", "lake", "shirt", "hair", "cat", "table"}
    adjectives = {"red", "blue", "green", "short", "small", "big", "white"}

    def tag(text: str) -> list[tuple[str, str]]:
        tokens = []
        for raw in text.split():
            word = raw.rstrip(".,!?")
            if word:
                tokens.append(word)
            tokens.extend(raw[len(word) :])
        return [
            (t, "NN" if t.lower() in nouns else "JJ" if t.lower() in adjectives else "." if not t.isalnum() else "DT")
            for t in tokens
        ]

    tag.description = "fake lexicon tagger"
    return tag


# ----------------------------------------------------------------------------------------------------------- images
def write_image(path: str, seed: int, size: tuple[int, int] = (48, 40)) -> str:
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def write_sugarcrepe(
    data_dir: str,
    image_dir: str,
    subsets: Sequence[str] = ("add_att", "replace_obj", "swap_att"),
    items_per_subset: int = 4,
    num_images: int = 3,
) -> dict[str, dict]:
    """SugarCrepe-format files (non-contiguous keys, images shared across items) and COCO-named images."""
    os.makedirs(data_dir, exist_ok=True)
    filenames = [f"{i:012d}.jpg" for i in range(1, num_images + 1)]
    for i, name in enumerate(filenames):
        write_image(os.path.join(image_dir, name), seed=i)
    written = {}
    for s, subset in enumerate(subsets):
        records = {}
        for k in range(items_per_subset):
            caption = CAPTION_WORDS[(k + s) % len(CAPTION_WORDS)]
            records[str(2 * k + 1)] = {
                "filename": filenames[k % num_images],
                "caption": caption,
                "negative_caption": " ".join(reversed(caption.split())),
            }
        with open(os.path.join(data_dir, f"{subset}.json"), "w") as handle:
            json.dump(records, handle)
        written[subset] = records
    return written


def write_aro_vg(data_dir: str, kind: str, num_items: int | None = None) -> list[dict]:
    """`visual_genome_{relation,attribution}.json` + `images/` (ARO's layout).

    Attribution gets 56 items (28 per attribute pair) so that pairs pass the official >= 25 filter.
    """
    num_items = num_items or (6 if kind == "relation" else 56)
    image_dir = os.path.join(data_dir, "images")
    records = []
    for i in range(num_items):
        name = f"{2300000 + i % 3}.jpg"
        write_image(os.path.join(image_dir, name), seed=10 + i % 3, size=(64, 48))
        record = {
            "image_id": str(2300000 + i % 3),
            "image_path": name,
            "bbox_x": 4 + i % 7,
            "bbox_y": 2,
            "bbox_w": 30,
            "bbox_h": 28 - i % 5,
            "true_caption": f"the {['dog', 'man', 'cat'][i % 3]} is on the table",
            "false_caption": f"the table is on the {['dog', 'man', 'cat'][i % 3]}",
        }
        if kind == "relation":
            record["relation_name"] = ["on", "next to", "holding"][i % 3]
        else:
            record["attributes"] = [["red", "small"], ["blue", "big"]][i % 2]
        records.append(record)
    filename = "visual_genome_relation.json" if kind == "relation" else "visual_genome_attribution.json"
    with open(os.path.join(data_dir, filename), "w") as handle:
        json.dump(records, handle)
    return records


def write_karpathy(data_dir: str, dataset: str, num_images: int = 3, captions_per_image: int = 2) -> list[dict]:
    """`coco_karpathy_test.json` (images under val2014/) or `flickr30k_test.json` (under flickr30k-images/)."""
    folder, filename = (
        ("val2014", "coco_karpathy_test.json") if dataset == "coco" else ("flickr30k-images", "flickr30k_test.json")
    )
    records = []
    for i in range(num_images):
        name = f"{folder}/COCO_val2014_{i:012d}.jpg" if dataset == "coco" else f"{folder}/{1000 + i}.jpg"
        write_image(os.path.join(data_dir, name), seed=20 + i)
        records.append(
            {
                "image": name,
                "caption": [
                    CAPTION_WORDS[(i + c) % len(CAPTION_WORDS)].capitalize() + "." for c in range(captions_per_image)
                ],
            }
        )
    with open(os.path.join(data_dir, filename), "w") as handle:
        json.dump(records, handle)
    return records


# ----------------------------------------------------------------------------------------------------------- videos
def synthetic_frames(seed: int, num_frames: int = 10, size: int = 32) -> np.ndarray:
    """A clip whose colour drifts over time, distinct per seed."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 200, (size, size, 3))
    return np.stack([np.clip(base + 5 * t, 0, 255).astype(np.uint8) for t in range(num_frames)])


def write_msrvtt(
    data_dir: str, num_videos: int = 5, extension: str = ".mp4", extra_rows: Sequence[str] = ()
) -> list[str]:
    """`MSRVTT_JSFUSION_test.csv` (`key,vid_key,video_id,sentence`) + `videos/{video_id}.mp4`."""
    video_dir = os.path.join(data_dir, "videos")
    os.makedirs(video_dir, exist_ok=True)
    lines = ["key,vid_key,video_id,sentence"]
    ids = []
    for i in range(num_videos):
        video_id = f"video{9770 + i}"
        write_test_video(os.path.join(video_dir, video_id + extension), synthetic_frames(i))
        lines.append(f"ret{i},msr{9770 + i},{video_id},{CAPTION_WORDS[i % len(CAPTION_WORDS)]} {i}")
        ids.append(video_id)
    lines.extend(extra_rows)
    with open(os.path.join(data_dir, "MSRVTT_JSFUSION_test.csv"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return ids


ACTION_CLASSES = {
    "ucf101": ["ApplyEyeMakeup", "BoxingPunchingBag", "YoYo"],
    "hmdb51": ["brush_hair", "cartwheel", "shoot_gun"],
    "k600": ["acting in play", "backflip (human)", "yarn spinning"],
}


def write_action_dataset(
    data_dir: str,
    dataset: str,
    splits: Sequence[int] = (1, 2, 3),
    videos_per_split: int = 3,
    extension: str = ".avi",
    classes: Sequence[str] | None = None,
) -> dict[int, list[tuple[str, int]]]:
    """ViFi-CLIP layout: `labels/*.csv` (`id,name`) and `datasets_splits/*_splits/*.txt` (`<video> <label>`);
    video v of split s has label (v + s) mod the number of classes (default `ACTION_CLASSES[dataset]`)."""
    from dataset_scripts.benchmarks.action_recognition import ACTION_DATASETS

    spec = ACTION_DATASETS[dataset]
    classes = list(classes or ACTION_CLASSES[dataset])
    video_dir = os.path.join(data_dir, "videos")
    os.makedirs(video_dir, exist_ok=True)
    written = {}
    for split in splits:
        label_path = os.path.join(data_dir, spec.label_file.format(i=split))
        os.makedirs(os.path.dirname(label_path), exist_ok=True)
        with open(label_path, "w") as handle:
            handle.write("id,name\n" + "".join(f"{i},{n}\n" for i, n in enumerate(classes)))
        entries = []
        for v in range(videos_per_split):
            label = (v + split) % len(classes)
            name = f"v_{classes[label].replace(' ', '_')}_g{split:02d}_c{v:02d}{extension}"
            write_test_video(os.path.join(video_dir, name), synthetic_frames(100 * split + v, num_frames=8))
            entries.append((name, label))
        split_path = os.path.join(data_dir, spec.split_file.format(i=split))
        os.makedirs(os.path.dirname(split_path), exist_ok=True)
        with open(split_path, "w") as handle:
            handle.write("".join(f"{name} {label}\n" for name, label in entries))
        written[split] = entries
    return written


def read_json(path: str) -> dict:
    with open(path) as handle:
        return json.load(handle)


def load_recipe_main():
    """`recipes/evaluate_figclip.py`'s `main`, imported from its file (recipes/ is not a package)."""
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        "evaluate_figclip_recipe", os.path.join(root, "recipes", "evaluate_figclip.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


# ----------------------------------------------------------------------------------------------------------- embeddings
def embed_by_hand(model_dir: str, images, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-normalised image and text embeddings computed directly with the model (no evaluator code)."""
    from modeling_figclip.loading import load_model_for_inference
    from modeling_figclip.utils import l2_normalize, to_embedding_tensor

    model, tokenizer, processor = load_model_for_inference(model_dir)
    with torch.no_grad():
        pixels = processor(images=list(images), return_tensors="pt")
        image_embeds = l2_normalize(to_embedding_tensor(model.get_image_features(**pixels)))
        tokens = tokenizer(list(texts), padding=True, return_tensors="pt")
        text_embeds = l2_normalize(to_embedding_tensor(model.get_text_features(**tokens)))
    return image_embeds, text_embeds


def stub_embeddings(encoder, texts: dict[str, torch.Tensor], videos: dict[str, torch.Tensor]):
    """Make `encoder` return the given embeddings for these captions and video paths, so a test can choose the
    similarity matrix (and so every rank) that the evaluator sees."""
    from modeling_figclip.evaluation import EmbeddingTable, VideoEmbeddings

    def encode_texts(keys, desc="texts"):
        unique = list(dict.fromkeys(keys))
        return EmbeddingTable(torch.stack([texts[k] for k in unique]), {k: i for i, k in enumerate(unique)})

    def encode_videos(keys, load, num_frames, use_contextualizer=False, events=None, desc="videos"):
        unique = list(dict.fromkeys(keys))
        embeds = torch.stack([videos[os.path.basename(k)] for k in unique])
        frames = embeds[:, None, None, :]
        return VideoEmbeddings(frames, embeds[:, None], embeds, embeds[:, None], embeds,
                               torch.ones(len(unique), 1, 1, dtype=torch.bool), {k: i for i, k in enumerate(unique)})

    encoder.encode_texts = encode_texts
    encoder.encode_videos = encode_videos
    return encoder
