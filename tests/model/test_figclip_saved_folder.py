"""What the README promises for a saved FiGCLIP folder: transformers' auto classes and the zero-shot pipeline load it
by path, as they do a CLIP checkpoint."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoModelForZeroShotImageClassification, AutoProcessor, pipeline

from figclip_test_utils import make_model
from modeling_figclip import FigClipModel, FigClipProcessor


@pytest.fixture()
def saved_folder(processor, tmp_path):
    model = make_model()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    return tmp_path, model


def test_zero_shot_pipeline_from_a_saved_folder(saved_folder, processor):
    folder, model = saved_folder
    classifier = pipeline("zero-shot-image-classification", model=str(folder), device="cpu")
    assert isinstance(classifier.model, FigClipModel)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    labels = ["red dog", "blue man", "man walk"]
    result = classifier(image, candidate_labels=labels, hypothesis_template="a {}")
    # The scores are the saved model's softmax over logit_scale x cosine(image, "a {label}").
    with torch.no_grad():
        text = processor.tokenizer([f"a {label}" for label in labels], padding=True, return_tensors="pt")
        pixel_values = processor.image_processor(images=image, return_tensors="pt").pixel_values
        logits = model(input_ids=text.input_ids, attention_mask=text.attention_mask,
                       pixel_values=pixel_values).logits_per_image
    expected = dict(zip(labels, logits.softmax(dim=-1)[0].tolist()))
    assert {r["label"]: r["score"] for r in result} == pytest.approx(expected, abs=1e-5)


def test_auto_classes_load_a_saved_folder(saved_folder):
    folder, _ = saved_folder
    assert isinstance(AutoModelForZeroShotImageClassification.from_pretrained(folder), FigClipModel)
    assert isinstance(AutoProcessor.from_pretrained(folder), FigClipProcessor)
