"""Fixtures for the model tests (helpers live in figclip_test_utils.py)."""

import pytest
from transformers import CLIPImageProcessor

from figclip_test_utils import make_model
from modeling_figclip import FigClipProcessor
from modeling_figclip.testing_utils import tiny_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture(scope="session")
def processor(tokenizer):
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return FigClipProcessor(image_processor=image_processor, tokenizer=tokenizer)


@pytest.fixture()
def model():
    return make_model()
