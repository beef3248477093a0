"""Data parallelism: the loss on 2 CPU processes (gloo, DDP) equals the single-process loss on the same global batch,
and so do the gradients of the trainable (LoRA + contextualiser) parameters."""

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from figclip_test_utils import make_batch, make_model
from modeling_figclip import add_figclip_adapters
from modeling_figclip.testing_utils import tiny_tokenizer


def build_model():
    model = add_figclip_adapters(make_model(seed=0), r=4)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
    return model


def loss_and_grads(model, inputs):
    out = model(**inputs)
    out.loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    terms = {n: getattr(out, n).item() for n in ("loss", "loss_clip_event", "loss_vc_event", "loss_clip_video", "loss_vc_video")}
    return terms, grads


def shard(inputs, start, stop):
    return {k: v[start:stop] for k, v in inputs.items()}


def masked_batch():
    inputs = make_batch(tiny_tokenizer())
    inputs["event_mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 1, 1]], dtype=torch.bool)
    return inputs


def rank_inputs(case: str, rank: int) -> dict:
    """This rank's share of a test case's global batch."""
    if case == "uneven":  # 2 videos on rank 0, 1 on rank 1
        return shard(masked_batch(), *[(0, 2), (2, 3)][rank])
    return padded_inputs(tiny_tokenizer(), [(0, 1), (2,)][rank])  # "padding": each rank tokenizes its own share


def worker(rank, world_size, init_file, result_dir, case):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    try:
        model = torch.nn.parallel.DistributedDataParallel(build_model().train())
        terms, grads = loss_and_grads(model, rank_inputs(case, rank))
        torch.save({"terms": terms, "grads": {n.removeprefix("module."): g for n, g in grads.items()}},
                   os.path.join(result_dir, f"{case}_rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def assert_every_rank_matches(tmp_path, case, expected_terms, expected_grads) -> None:
    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(tmp_path), case), nprocs=2, join=True)
    for rank in range(2):
        result = torch.load(tmp_path / f"{case}_rank{rank}.pt")
        for name, value in expected_terms.items():
            assert result["terms"][name] == pytest.approx(value, rel=1e-5), (rank, name)
        assert result["grads"].keys() == expected_grads.keys()
        for name, grad in expected_grads.items():
            torch.testing.assert_close(result["grads"][name], grad, atol=1e-6, rtol=1e-4, msg=name)


@pytest.mark.distributed
def test_two_process_loss_and_gradients_equal_single_process(tmp_path):
    expected_terms, expected_grads = loss_and_grads(build_model().train(), masked_batch())
    assert_every_rank_matches(tmp_path, "uneven", expected_terms, expected_grads)


# Video 2's first prompt repeats video 0's second prompt, and rank 1's texts are much shorter than rank 0's: each rank
# pads to its own longest text, so the same text arrives with different padding on the two ranks.
PADDING_PROMPTS = [
    ["in this photo the action is walk where the walker is man with short hair wearing collared shirt",
     "in this photo the action is talk where the talker is woman", "in this photo the action is run"],
    ["in this photo the action is hit where the hitter is girl", "in this photo the action is jog",
     "in this photo the action is talk where the talker is man with short hair"],
    ["in this photo the action is talk where the talker is woman", "in this photo the action is run",
     "in this photo the action is jog"],
]


def padded_inputs(tokenizer, videos):
    """Inputs for `videos` (indices into PADDING_PROMPTS), padded to the longest text among them only."""
    flat = [PADDING_PROMPTS[v][e] for v in videos for e in range(3)]
    encoded = tokenizer(flat, padding=True, return_tensors="pt")
    negatives = [p.replace("walk", "jog").replace("walker", "jogger") for p in flat]
    negatives[1] = flat[0] if videos[0] == 0 else negatives[1]  # a negative equal to another event's positive
    encoded_negatives = tokenizer(negatives, padding=True, return_tensors="pt")
    pixels = torch.randn(3, 3, 2, 3, 32, 32, generator=torch.Generator().manual_seed(5))[list(videos)]
    return dict(
        pixel_values_videos=pixels,
        input_ids=encoded.input_ids.view(len(videos), 3, -1),
        attention_mask=encoded.attention_mask.view(len(videos), 3, -1),
        negative_input_ids=encoded_negatives.input_ids.view(len(videos), 3, 1, -1),
        negative_attention_mask=encoded_negatives.attention_mask.view(len(videos), 3, 1, -1),
    )


@pytest.mark.distributed
def test_two_processes_with_per_rank_padding_equal_single_process(tmp_path):
    tokenizer = tiny_tokenizer()
    inputs = padded_inputs(tokenizer, [0, 1, 2])
    assert inputs["input_ids"].shape[-1] != padded_inputs(tokenizer, [2])["input_ids"].shape[-1]
    model = build_model().train()
    expected_terms, expected_grads = loss_and_grads(model, inputs)
    with torch.no_grad():
        out = model(**inputs)
    assert torch.isinf(out.logits_clip_event[1, 6])  # the repeated prompt is masked across videos
    assert_every_rank_matches(tmp_path, "padding", expected_terms, expected_grads)
