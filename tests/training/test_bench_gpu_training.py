"""`benchmarks/bench_gpu_training.py` runs end to end at tiny sizes on the CPU (the GPU table uses the same code)."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))


@pytest.mark.slow
def test_tiny_runs_report_every_column(tmp_path, capsys):
    import bench_gpu_training

    results = bench_gpu_training.main(["--tiny", "--runs", "tiny,tiny:gpu_decode+ckpt", "--steps", "2", "--warmup",
                                       "0", "--work_dir", str(tmp_path), "--json", str(tmp_path / "out.json")])
    assert [r.run for r in results] == ["tiny", "tiny:gpu_decode+ckpt"]
    for result in results:
        assert result.frames_per_step == 2 * 5 * 4 and result.frames_per_s > 0
        assert result.step_ms == pytest.approx(result.input_ms + result.compute_ms, rel=1e-6)
        assert result.tflop_per_step > 0 and result.mfu is None  # no known peak on a CPU
    # Checkpointing recomputes activations but does not change the model FLOPs (counted without it).
    assert results[0].tflop_per_step == pytest.approx(results[1].tflop_per_step)
    out = capsys.readouterr().out
    assert "| tiny:gpu_decode+ckpt |" in out and "input pipeline alone" in out
    assert os.path.isfile(tmp_path / "out.json")
    with pytest.raises(SystemExit, match="bad run"):
        bench_gpu_training.parse_run("b32:turbo")
