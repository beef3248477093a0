"""Trainable-parameter counts of FiGCLIP adapters at the paper's backbone sizes (random init, no download).

    python benchmarks/trainable_parameters.py [--backbone vit-b-32|vit-b-16|vit-l-14|all] [--rank 64] [--targets vision_qkv]
"""

from __future__ import annotations

import argparse

import warnings

import torch

from modeling_figclip import FigClipConfig, FigClipModel, add_figclip_adapters, trainable_parameter_report

# Architecture hyper-parameters of the OpenAI checkpoints (their config.json on the Hub); weights are random here.
BACKBONES = {
    "vit-b-32": dict(projection_dim=512, text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
                     vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, patch_size=32, image_size=224)),
    "vit-b-16": dict(projection_dim=512, text=dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8),
                     vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, patch_size=16, image_size=224)),
    "vit-l-14": dict(projection_dim=768, text=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12),
                     vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16, patch_size=14, image_size=224)),
}


def backbone_config(name: str) -> FigClipConfig:
    spec = BACKBONES[name]
    return FigClipConfig(text_config=spec["text"], vision_config=spec["vision"], projection_dim=spec["projection_dim"])


def main() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="vit-b-32", choices=[*BACKBONES, "all"])
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--targets", default="vision_qkv")
    args = parser.parse_args()
    names = list(BACKBONES) if args.backbone == "all" else [args.backbone]
    print("| backbone | LoRA targets | r | total | trainable | LoRA | Video Contextualizer | trainable % |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        torch.manual_seed(0)
        model = add_figclip_adapters(FigClipModel(backbone_config(name)), r=args.rank, targets=args.targets)
        report = trainable_parameter_report(model)
        print(f"| {name} | {args.targets} | {args.rank} | {report.total:,} | {report.trainable:,} | {report.lora:,} | "
              f"{report.contextualizer:,} | {report.trainable_percent:.2f}% |")


if __name__ == "__main__":
    main()
