"""Install FiGCLIP-HF: the `modeling_figclip` library and the `dataset_scripts` data builders.

Install with the tested pins (torch and torchvision must be a matching pair)::

    pip install -c constraints.txt -e ".[test]"
"""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "torch>=2.4",
    "torchvision>=0.19",
    "transformers>=5.0,<6",
    "peft>=0.17",
    "accelerate>=1.0",
    "datasets>=4.0",
    "evaluate>=0.4",
    "huggingface_hub>=1.0",
    "safetensors>=0.4",
    "tokenizers>=0.20",
    "av>=12",
    "numpy>=1.24",
    "pillow>=10",
    "pyyaml>=6",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "tensorboard>=2.14",
]

EXTRAS = {
    "test": ["pytest>=8", "torchmetrics>=1.0"],
    "wandb": ["wandb"],
    "aro": ["spacy>=3.7", "nltk>=3.8"],
}
EXTRAS["dev"] = sorted({*EXTRAS["test"], "ruff"})

setup(
    name="figclip-hf",
    version="0.1.0",
    description="FiGCLIP (SRL-CLIP): fine-grained CLIP adaptation via densely annotated videos, for the Hugging Face ecosystem",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(
        include=["modeling_figclip", "modeling_figclip.*", "dataset_scripts", "dataset_scripts.*", "model_cards"]
    ),
    include_package_data=True,
    # The model-card templates (top-level model_cards/, the product layout) ship as package data of `model_cards`.
    package_data={"dataset_scripts": ["**/*.json"], "modeling_figclip": ["**/*.json"], "model_cards": ["*.md"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": []},
)
