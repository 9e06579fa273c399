"""The benchmark on a CPU at its tiny size, the fast path's agreement with the plain path, and
the trainer's epoch loop reading nothing back to the host per batch."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gce_lab.methods import make_loss
from gce_lab.noise import make_noise
from gce_lab.pipeline.augment import per_pixel_mean
from gce_lab.pipeline.bench import lab_run, run_benchmark, timing
from gce_lab.pipeline.bench.agreement import compare_paths
from gce_lab.pipeline.bench.cases import CASES, synthetic_images
from gce_lab.pipeline.bench.output import device_slug
from gce_lab.pipeline.bench.timing import count_step_flops
from gce_lab.pipeline.cli import main
from gce_lab.pipeline.models import make_model, tiny_net
from gce_lab.pipeline.train import TrainConfig, TrainData, make_optimizer, train, train_epoch


@pytest.fixture(scope="module")
def data(noisy_synthetic_cifar10) -> TrainData:
    return noisy_synthetic_cifar10(200, 40)


# --------------------------------------------------------------------------- the benchmark


def test_tiny_benchmark_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GCE_LAB_RESULTS", str(tmp_path))
    assert main(["bench", "--size", "tiny", "--models", "tiny_net", "--full-epoch", "--device", "cpu"]) == 0
    files = list((tmp_path / "bench").glob("*.json"))
    assert [f.name for f in files] == [f"{device_slug('cpu')}-tiny.json"]  # never mistaken for a full run
    report = json.loads(files[0].read_text())  # strict JSON: NaN would have been written as null
    assert report["complete"] and report["size"] == "tiny" and report["device"].startswith("cpu")
    prov = report["provenance"]
    for key in ("command", "git_commit", "torch_version", "device", "wall_time_s", "finished_at"):
        assert prov[key]
    (model,) = report["models"]
    variants = {v["variant"]: v for v in model["variants"]}
    assert list(variants) == ["baseline", "fast", "fast_eager_batchx2"]
    base, fast = variants["baseline"], variants["fast"]
    for v in variants.values():
        assert v["images_per_s"] > 0 and v["step_ms"] > 0 and v["tflops"] > 0
        assert v["images_per_s_min"] <= v["images_per_s"] <= v["images_per_s_max"]
        assert v["epoch_s_extrapolated"] == pytest.approx(CASES["tiny_net"].epoch_images / v["images_per_s"])
    # Same network, same arithmetic: equal FLOPs per image on both paths, whatever the batch.
    assert base["flops_per_step"] > 0 and base["flops_per_step"] == fast["flops_per_step"]
    assert model["flops_equal"]
    assert base["speedup_vs_baseline"] == 1.0
    assert fast["speedup_vs_baseline"] == pytest.approx(fast["images_per_s"] / base["images_per_s"])
    assert base["path"] == "baseline" and not base["data_on_device"] and fast["data_on_device"]
    assert fast["epoch_s_measured"] > 0 and base["epoch_images_measured"] == model["pool_images"]
    assert model["agreement"]["max_rel_diff"] < 1e-4
    assert report["targets"]["applies"] is False  # CPU numbers are never judged against GPU targets
    assert "CPU numbers" in capsys.readouterr().out


def test_cpu_benchmark_reads_the_cpu_net_against_the_matmul_roof(tmp_path):
    report = run_benchmark("tiny", device="cpu", out=tmp_path, quiet=True, probe_factor=0)
    assert report["path"].endswith(f"{device_slug('cpu')}-tiny.json") and device_slug("cpu").startswith("cpu-")
    assert [m["model"] for m in report["models"]] == ["cpu_net"]  # the CPU default
    roof = report["matmul_roof"]
    assert roof["dtype"] == "float32" and roof["gflops"] > 0
    variants = {v["variant"]: v for v in report["models"][0]["variants"]}
    for v in variants.values():
        assert v["gflops"] == pytest.approx(1000 * v["tflops"])
        assert v["fraction_of_matmul_roof"] == pytest.approx(v["gflops"] / roof["gflops"])
    target = report["targets"]["cpu_net_speedup"]
    assert target["target"] == 2.0 and target["value"] == pytest.approx(variants["fast"]["speedup_vs_baseline"])
    assert target["met"] == (target["value"] >= 2.0)


def test_matmul_rate_is_two_n_cubed_over_the_time(monkeypatch):
    monkeypatch.setattr(timing, "timed", lambda fn, steps, device: (fn(), (0.5, 1))[1])
    assert timing.matmul_gflops(torch.device("cpu"), size=100, repeats=2) == pytest.approx(2 * 100**3 / 0.5 / 1e9)


def test_flop_counter_counts_forward_and_backward():
    layer = torch.nn.Linear(8, 3, bias=False)
    x = torch.randn(5, 8)
    # forward 2*5*8*3; backward: gradient of the weights and of the input, as much again each
    assert count_step_flops(lambda: layer(x.requires_grad_()).sum().backward()) == 3 * 2 * 5 * 8 * 3


@pytest.mark.parametrize("name", ["tiny_net", "small_net"])
def test_fast_path_trains_like_the_plain_path_on_cpu(name):
    """Same weights, same batches: the fast path (uint8 on the device, batched normalisation,
    channels_last, the trainer's step) and a textbook DataLoader loop give the same losses."""
    case = CASES[name]
    x, y = synthetic_images(case, 12, seed=3)
    torch.manual_seed(0)
    net = make_model(name, case.num_classes, case.image_shape[0])
    result = compare_paths(net, x, y, steps=3, batch_size=4, device=torch.device("cpu"))
    plain, fast = np.array(result["plain_losses"]), np.array(result["fast_losses"])
    assert len(plain) == 3 and np.all(np.isfinite(plain))
    assert abs(plain[2] - plain[0]) > 1e-3  # the steps trained something
    np.testing.assert_allclose(fast, plain, rtol=1e-4)
    assert result["max_rel_diff"] < 1e-4


def test_batches_larger_than_the_tiny_pool_get_a_larger_pool(tmp_path):
    report = run_benchmark(
        "tiny", ["tiny_net"], batch_size=12, steps=1, probe_factor=0, device="cpu", out=tmp_path, quiet=True
    )
    (model,) = report["models"]
    assert model["pool_images"] == 24 and [v["variant"] for v in model["variants"]] == ["baseline", "fast"]
    assert all(v["batch_size"] == 12 for v in model["variants"])
    with pytest.raises(ValueError, match="batch_size must be at most the 45000 training images"):
        run_benchmark("full", ["tiny_net"], batch_size=50_000, device="cpu", out=tmp_path)


def test_bad_arguments_are_rejected(tmp_path, capsys):
    with pytest.raises(ValueError, match="size must be one of 'full', 'tiny'"):
        run_benchmark("huge", out=tmp_path)
    with pytest.raises(ValueError, match="models must be one of"):
        run_benchmark("tiny", ["vgg16"], out=tmp_path)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        run_benchmark("tiny", ["tiny_net"], steps=0, out=tmp_path)
    with pytest.raises(ValueError, match="workers must be an integer >= 0"):
        run_benchmark("tiny", ["tiny_net"], workers=-1, out=tmp_path)
    with pytest.raises(ValueError, match="experiments must be one of 'table1', 'fig1ab'"):
        lab_run("tiny", ["table2"], out=tmp_path)
    assert main(["bench", "--size", "tiny", "--models", "resnet50", "--out", str(tmp_path)]) == 2
    assert "models must be one of" in capsys.readouterr().err


def test_tiny_lab_run_reports_accuracy_against_training_time(tmp_path):
    report = lab_run("tiny", ["table1"], device="cpu", out=tmp_path / "lab.json", quiet=True)
    assert json.loads((tmp_path / "lab.json").read_text())["runs"][0]["epochs"] == 3
    (run,) = report["runs"]
    assert run["profile"] == "smoke" and run["noise"] == "none" and run["data_source"] == "synthetic"
    rows = run["per_epoch"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    times = [r["cumulative_train_time_s"] for r in rows]
    assert all(b > a for a, b in zip([0.0, *times], times))  # positive times, added up
    assert all(r["train_time_s"] <= r["epoch_time_s"] for r in rows)
    assert run["final_test_acc"] == rows[-1]["test_acc"]
    assert run["target"]["applies"] is False and run["target"]["met"] is None


# --------------------------------------------------------------------------- no host reads in the loop

_HOST_READS = ("item", "tolist", "numpy", "cpu", "nonzero", "__bool__", "__int__", "__float__", "__index__")


def _patch_host_reads(monkeypatch, action):
    """Make every Tensor method that reads values on the host call ``action(name)`` first."""
    for name in _HOST_READS:
        original = getattr(torch.Tensor, name)

        def wrapper(self, *args, _name=name, _original=original, **kwargs):
            action(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, wrapper)


@pytest.mark.parametrize("method", ["cce", "lq", "truncated_lq", "forward_t"])
def test_training_epoch_reads_nothing_back_per_batch(data, method, monkeypatch):
    """On a GPU each host read is a synchronisation; the epoch loop must have none (the trainer
    reads its metrics once per epoch, after the loop)."""
    config = TrainConfig(method, epochs=1, batch_size=16, channels_last=True)
    T = torch.as_tensor(make_noise("uniform", 0.4, "cifar10").transition_matrix(), dtype=torch.float32)
    loss_fn = make_loss(method, T=T, num_samples=data.x_train.shape[0], check_inputs=False)
    model = tiny_net(10, 3).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    mean = per_pixel_mean(data.x_train)
    order = torch.randperm(data.x_train.shape[0])
    noisy = data.is_noisy.float()

    def refuse(name):
        raise AssertionError(f"host read Tensor.{name} inside the epoch loop")

    _patch_host_reads(monkeypatch, refuse)
    sums = train_epoch(model, model, loss_fn, optimizer, data.x_train, data.y_train, noisy, order, mean, config, None)
    monkeypatch.undo()
    assert math.isfinite(sums.sum().item())
    # The default (checking) loss reads its targets back on every call: the test can fail.
    _patch_host_reads(monkeypatch, refuse)
    with pytest.raises(AssertionError, match="host read"):
        train_epoch(
            model, model, make_loss("cce"), optimizer, data.x_train, data.y_train, noisy, order, mean, config, None
        )


def test_trainer_host_reads_do_not_grow_with_the_number_of_batches(data, monkeypatch):
    """The whole train() reads the same number of values back for 14 batches per epoch as for 4."""
    counts = []
    for batch_size in (64, 16):
        reads: list[str] = []
        config = TrainConfig(
            "truncated_lq", epochs=3, batch_size=batch_size, prune_start=1, prune_every=1, k=0.3, channels_last=True
        )
        torch.manual_seed(0)
        model = tiny_net(10, 3)
        _patch_host_reads(monkeypatch, reads.append)
        result = train(model, data, config)
        monkeypatch.undo()
        counts.append(len(reads))
        assert all(h["train_time_s"] > 0 for h in result.history)
    assert counts[0] == counts[1]
