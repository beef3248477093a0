"""Published reference numbers shown beside our own measurements in suite reports.

These are **reference values from other sources**, never our measurements; each names its model and source, and the
ones recalled rather than read in a source are marked unverified. FiGCLIP v1's own ARO/SugarCrepe/action-recognition
numbers were not retrievable (`research/paper.md` §6.5, §10), so the reference model is usually CLIP ViT-B/32.
Compare only under the same protocol: re-measure the base CLIP yourself next to FiGCLIP.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    task: str
    metric: str
    value: float
    model: str
    source: str
    verified: bool = True


_SUGARCREPE_SOURCE = "RAIVNLab/sugar-crepe issue #3 (ViT-B-32, OpenAI weights)"
_ARO_SOURCE = "mertyg/vision-language-models-are-bows issue #9 / ARO paper"
_MSRVTT_SOURCE = "Portillo-Quintero et al. 2021, zero-shot CLIP on MSR-VTT 1k-A"
_SRL_CLIP_SOURCE = "SRL-CLIP (arXiv 2401.07669 v2) via a secondary summary"
_VIFI_SOURCE = "ViFi-CLIP README (B/16, 32 frames, trained on K400)"

REFERENCES: tuple[Reference, ...] = (
    *(
        Reference("sugarcrepe", subset, value, "CLIP ViT-B/32", _SUGARCREPE_SOURCE)
        for subset, value in (
            ("replace_obj", 90.92),
            ("replace_att", 80.08),
            ("replace_rel", 69.20),
            ("swap_obj", 61.38),
            ("swap_att", 63.96),
            ("add_obj", 77.20),
            ("add_att", 68.79),
        )
    ),
    *(
        Reference("sugarcrepe", subset, value, "NegCLIP ViT-B/32", _SUGARCREPE_SOURCE)
        for subset, value in (
            ("replace_obj", 92.68),
            ("replace_att", 85.91),
            ("replace_rel", 76.46),
            ("swap_obj", 75.20),
        )
    ),
    Reference("aro_vg_relation", "macro_accuracy", 59.0, "CLIP ViT-B/32", _ARO_SOURCE),
    Reference("aro_vg_relation", "macro_accuracy", 81.0, "NegCLIP ViT-B/32", _ARO_SOURCE),
    Reference("aro_vg_attribution", "macro_accuracy", 62.0, "CLIP ViT-B/32", _ARO_SOURCE, verified=False),
    Reference("aro_vg_attribution", "macro_accuracy", 71.0, "NegCLIP ViT-B/32", _ARO_SOURCE),
    Reference("aro_coco_order", "accuracy", 46.0, "CLIP ViT-B/32", "ARO paper (recalled)", verified=False),
    Reference("aro_flickr_order", "accuracy", 59.0, "CLIP ViT-B/32", "ARO paper (recalled)", verified=False),
    Reference("msrvtt", "t2v_R@1", 31.2, "CLIP ViT-B/32", _MSRVTT_SOURCE),
    Reference("msrvtt", "t2v_R@5", 53.7, "CLIP ViT-B/32", _MSRVTT_SOURCE),
    Reference("msrvtt", "t2v_R@10", 64.2, "CLIP ViT-B/32", _MSRVTT_SOURCE),
    Reference("msrvtt", "t2v_MedR", 4.0, "CLIP ViT-B/32", _MSRVTT_SOURCE),
    Reference("msrvtt", "t2v_R@10", 69.6, "CLIP ViT-L/14", _SRL_CLIP_SOURCE),
    Reference("msrvtt", "t2v_R@10", 73.6, "SRL-CLIP ViT-L/14", _SRL_CLIP_SOURCE),
    Reference("msrvtt", "t2v_MedR", 3.0, "SRL-CLIP ViT-L/14", _SRL_CLIP_SOURCE),
    Reference("ucf101", "top1", 76.8, "ViFi-CLIP B/16", _VIFI_SOURCE),
    Reference("hmdb51", "top1", 51.3, "ViFi-CLIP B/16", _VIFI_SOURCE),
    Reference("k600", "top1", 71.2, "ViFi-CLIP B/16", _VIFI_SOURCE),
    Reference("vidsitu_verbs", "Acc@1", 46.57, "CLIP ViT-L/14 (fine-tuned head)", _SRL_CLIP_SOURCE),
    Reference("vidsitu_verbs", "Acc@1", 52.36, "SRL-CLIP ViT-L/14 (fine-tuned head)", _SRL_CLIP_SOURCE),
)


def references_for(task: str, metric: str) -> list[Reference]:
    return [r for r in REFERENCES if r.task == task and r.metric == metric]
