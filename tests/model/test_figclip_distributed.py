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


def worker(rank, world_size, init_file, result_dir, splits):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    torch.set_num_threads(1)
    try:
        inputs = make_batch(tiny_tokenizer())
        inputs["event_mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 1, 1]], dtype=torch.bool)
        model = torch.nn.parallel.DistributedDataParallel(build_model().train())
        terms, grads = loss_and_grads(model, shard(inputs, *splits[rank]))
        torch.save({"terms": terms, "grads": {n.removeprefix("module."): g for n, g in grads.items()}},
                   os.path.join(result_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
def test_two_process_loss_and_gradients_equal_single_process(tmp_path):
    splits = [(0, 2), (2, 3)]  # uneven local batches: 2 videos on rank 0, 1 on rank 1
    inputs = make_batch(tiny_tokenizer())
    inputs["event_mask"] = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 1, 1]], dtype=torch.bool)
    expected_terms, expected_grads = loss_and_grads(build_model().train(), inputs)

    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(tmp_path), splits), nprocs=2, join=True)
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        for name, value in expected_terms.items():
            assert result["terms"][name] == pytest.approx(value, rel=1e-5), (rank, name)
        assert result["grads"].keys() == expected_grads.keys()
        for name, grad in expected_grads.items():
            torch.testing.assert_close(result["grads"][name], grad, atol=1e-6, rtol=1e-4, msg=name)
