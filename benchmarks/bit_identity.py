"""Bit identity of training between two versions of gan_edu, on the CPU.

What it proves: for each case below, the same seed gives *bitwise* the same results under the
version NEW as under the version OLD: every history list (step, losses, D means, learning rates,
events; NaN equal to NaN), every tensor of G's, D's and G_ema's state_dict, the samples of a
fixed number of draws after training (from G_ema and from G), D on a fixed grid (the first 16
digits for the DCGAN), both optimizers' state_dicts, ``settings()``, and the checkpoint's
contents as read back with ``torch.load(weights_only=True)``. Tensors must agree in dtype, shape
and every bit; Python numbers in type and bits. Whether the checkpoint *files* are
byte-identical is reported too, for information only. The cases: each loss kind; alternating and
simultaneous updates with several D:G step counts; d_steps=0 and g_steps=0 rounds; label
smoothing; PacGAN packing; the WGAN-GP and R1 penalties; EMA; SGD; uniform noise; fused Adam;
bf16 autocast; configure / set_lr mid-run (a new optimizer and loss too); D-only and G-only
steps; a save / load round trip with more training after it; the recipes; the live trainer; the
DCGAN on the 8x8 digits. A case that raises counts as identical when both sides raise the same
exception type.

How: OLD is a git revision, extracted with ``git archive REV | tar -x`` into a temporary folder
(this reads history only: the working tree and the index are untouched); NEW is a source tree
(default: the repository this script is in, as its working tree stands). Each side runs this
script as a child process (same Python, ``PYTHONPATH=<tree>``, ``OMP_NUM_THREADS=1``) that
checks ``gan_edu`` comes from that tree, runs the cases and ``torch.save``s its results; the
parent compares them, prints one line per case and a summary, and exits 1 if any case differs.

    .venv/bin/python benchmarks/bit_identity.py                    # c904b18 vs the working tree
    .venv/bin/python benchmarks/bit_identity.py --old HEAD --new /tmp/other-tree
    .venv/bin/python benchmarks/bit_identity.py --cases ema,dcgan  # cases whose name has these

The whole run takes under a minute on 2 shared CPU cores (about 20 s a side, one side after the
other); the child's per-case seconds go to stderr, the table to stdout.
"""
from __future__ import annotations

import argparse
import io
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OLD = "c904b18"
COLUMNS = ("history", "weights", "samples", "optimizer", "checkpoint contents", "checkpoint bytes")
COMPARED = COLUMNS[:-1]  # the bytes are informational
BN_STATS = ("running_mean", "running_var", "num_batches_tracked")
N_SAMPLES = 256
MLP = dict(noise_dim=2, hidden=32, depth=2)
ROUNDS, BATCH = 30, 32

# ---------------------------------------------------------------------------- the cases (child side)
# name -> (data, GAN settings, rounds): MLP nets, one fit of that many rounds, batch BATCH
MLP_CASES = {
    "loss=non_saturating": ("ring", {}, ROUNDS),
    "loss=saturating": ("ring", dict(loss="saturating"), ROUNDS),
    "loss=lsgan": ("ring", dict(loss="lsgan"), ROUNDS),
    "loss=wasserstein": ("ring", dict(loss="wasserstein"), ROUNDS),
    "simultaneous 1:1": ("ring", dict(update="simultaneous"), ROUNDS),
    "simultaneous 2:1": ("ring", dict(update="simultaneous", d_steps=2), ROUNDS),
    "simultaneous 1:2": ("ring", dict(update="simultaneous", g_steps=2), ROUNDS),
    "alternating 3:2": ("ring", dict(d_steps=3, g_steps=2), 20),
    "smoothing one_sided": ("ring", dict(label_smoothing="one_sided"), ROUNDS),
    "smoothing two_sided": ("ring", dict(label_smoothing="two_sided", smoothing=0.2), ROUNDS),
    "pack=2": ("ring", dict(pack=2), ROUNDS),
    "wasserstein+gp=10": ("ring", dict(loss="wasserstein", gp_weight=10.0), ROUNDS),
    "r1=1": ("ring", dict(r1_weight=1.0), ROUNDS),
    "pack=2+gp=10": ("ring", dict(pack=2, gp_weight=10.0), ROUNDS),
    "r1=1+simultaneous": ("ring", dict(r1_weight=1.0, update="simultaneous"), ROUNDS),
    "pack=2+r1=1": ("ring", dict(pack=2, r1_weight=1.0), ROUNDS),
    "gp=10+r1=1": ("ring", dict(gp_weight=10.0, r1_weight=1.0), ROUNDS),
    "simultaneous 2:1+gp=10": ("ring", dict(update="simultaneous", d_steps=2, gp_weight=10.0), ROUNDS),
    "simultaneous 1:2+pack=2+smoothing": ("ring", dict(update="simultaneous", g_steps=2, pack=2,
                                                      label_smoothing="two_sided"), ROUNDS),
    "ema=0.9": ("ring", dict(ema=0.9), ROUNDS),
    "optimizer=sgd": ("ring", dict(optimizer="sgd", lr_d=1e-2, lr_g=1e-2), ROUNDS),
    "noise=uniform": ("ring", dict(noise="uniform"), ROUNDS),
    "fused_adam": ("ring", dict(fused_adam=True), ROUNDS),
    "amp=bf16": ("ring", dict(amp=True), ROUNDS),
    "grid lr=1e-3": ("grid", dict(lr_d=1e-3, lr_g=1e-3), ROUNDS),
    "gaussian1d saturating": ("gaussian1d", dict(loss="saturating"), ROUNDS),
}
RECIPE_NAMES = ("vanilla", "pacgan", "wgan_gp", "lsgan", "best")


def one_player(gan, player, sampler):
    """One step of D or G alone, recorded as a round: ``player_round`` (or, in a tree from before
    it, ``d_only_step`` / ``g_only_step``)."""
    if hasattr(gan, "player_round"):
        return gan.player_round(player, sampler, BATCH)
    return gan.d_only_step(sampler, BATCH) if player == "D" else gan.g_only_step(BATCH)


def sampler_for(name: str):
    from gan_edu import data

    return {"ring": lambda: data.ring(8, radius=2.0, std=0.02, seed=0),
            "grid": lambda: data.grid(5, spacing=2.0, std=0.05, seed=0),
            "gaussian1d": lambda: data.Gaussian1D(seed=0)}[name]()


def probe_for(dim) -> torch.Tensor:
    """The fixed input of ``discriminate``: a 15 x 15 grid on [-3, 3]^2, or 101 points on [-2, 8]."""
    if dim == 1:
        return torch.linspace(-2, 8, 101).reshape(-1, 1)
    axis = torch.linspace(-3, 3, 15)
    return torch.cartesian_prod(axis, axis)


def mlp_gan(data_dim: int = 2, mixture: bool = False, **settings):
    """Seeded MLP nets (D's input ``pack`` times the data's) and their GAN on the CPU."""
    import gan_edu
    from gan_edu import nets

    gan_edu.seed_everything(0)
    G = (nets.MLPMixtureGenerator(noise_dim=3, data_dim=data_dim, hidden=16, depth=2, generators=4) if mixture
         else nets.MLPGenerator(data_dim=data_dim, **MLP))
    D = nets.MLPDiscriminator(data_dim=settings.get("pack", 1) * data_dim, hidden=MLP["hidden"], depth=MLP["depth"])
    return gan_edu.GAN(G, D, device="cpu", seed=0, **settings)


def mlp_case(data: str, settings: dict, rounds: int):
    def run(work: Path):
        sampler = sampler_for(data)
        dim = sampler.data_shape[0]
        gan = mlp_gan(data_dim=dim, **settings)
        gan.fit(sampler, steps=rounds, batch_size=BATCH, progress=False)
        return gan, probe_for(dim), {}
    return run


def case_mixture(work: Path):
    sampler = sampler_for("grid")
    gan = mlp_gan(mixture=True, r1_weight=1.0, ema=0.9)
    gan.fit(sampler, steps=ROUNDS, batch_size=BATCH, progress=False)
    return gan, probe_for(2), {}


def case_zero_steps(update: str):
    """d_steps=0 rounds (G only), then g_steps=0 rounds (D only), then 1:1, set by configure."""
    def run(work: Path):
        sampler = sampler_for("ring")
        gan = mlp_gan(d_steps=0, g_steps=1, update=update)
        gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
        gan.configure(d_steps=2, g_steps=0)
        gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
        gan.configure(d_steps=1, g_steps=1)
        gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
        return gan, probe_for(2), {}
    return run


def case_configure(work: Path):
    """configure / set_lr between fits: learning rates, loss, optimizer, update, smoothing, noise."""
    sampler = sampler_for("ring")
    gan = mlp_gan()
    gan.fit(sampler, steps=15, batch_size=BATCH, progress=False)
    gan.set_lr(d=5e-4, g=1e-4)
    gan.configure(loss="lsgan", label_smoothing="one_sided")
    gan.fit(sampler, steps=15, batch_size=BATCH, progress=False)
    gan.configure(optimizer="sgd", lr_d=1e-2, lr_g=1e-2, update="simultaneous", noise="uniform")
    gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
    gan.configure(optimizer="adam", loss="non_saturating", update="alternating", d_steps=2)
    gan.set_lr(g=3e-4)
    gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
    return gan, probe_for(2), {}


def case_single_steps(ema: float):
    """D-only and G-only rounds between fits, with a configure change pending before one."""
    def run(work: Path):
        sampler = sampler_for("ring")
        gan = mlp_gan(ema=ema)
        gan.fit(sampler, steps=10, batch_size=BATCH, progress=False)
        for _ in range(3):
            one_player(gan, "D", sampler)
        one_player(gan, "G", sampler)
        gan.set_lr(d=1e-3)
        one_player(gan, "G", sampler)
        one_player(gan, "D", sampler)
        gan.fit(sampler, steps=5, batch_size=BATCH, progress=False)
        return gan, probe_for(2), {}
    return run


def case_round_trip(settings: dict):
    """Train, save, load, train on: the loaded GAN's continued state is compared."""
    def run(work: Path):
        import gan_edu

        sampler = sampler_for("ring")
        gan = mlp_gan(**settings)
        gan.fit(sampler, steps=20, batch_size=BATCH, progress=False)
        path = work / "round_trip.pt"
        gan.save(path)
        loaded = gan_edu.GAN.load(path, device="cpu")
        loaded.fit(sampler, steps=20, batch_size=BATCH, progress=False)
        return loaded, probe_for(2), {}
    return run


def case_recipe(name: str):
    def run(work: Path):
        try:
            from gan_edu.experiments import recipes
        except ImportError:  # a tree from before the subpackages (gan_edu.recipes)
            from gan_edu import recipes

        gan = recipes.train(name, sampler_for("ring"), seed=0, steps=40)
        return gan, probe_for(2), {}
    return run


def case_live(**kwargs):
    def run(work: Path):
        from gan_edu.live import LiveTrainer

        trainer = LiveTrainer(data="ring", **kwargs)
        trainer.run(40)
        coverage = {k: list(v) for k, v in trainer.coverage.items()}
        trainer.close()
        return trainer.gan, probe_for(2), {"coverage": coverage}
    return run


def case_dcgan(channels_last: bool):
    """DCGAN 8x8 nets (width 8) on the digits, 5 rounds of batch 32."""
    def run(work: Path):
        import gan_edu
        from gan_edu import data, nets

        images, _ = data.digits()
        sampler = data.TensorSampler(images, seed=0)
        gan_edu.seed_everything(0)
        G = nets.DCGANGenerator(noise_dim=16, image_size=8, channels=1, width=8)
        D = nets.DCGANDiscriminator(image_size=8, channels=1, width=8)
        gan = gan_edu.GAN(G, D, device="cpu", seed=0, channels_last=channels_last)
        gan.fit(sampler, steps=5, batch_size=BATCH, progress=False)
        return gan, images[:16].clone(), {}
    return run


def all_cases() -> dict:
    cases = {name: mlp_case(*spec) for name, spec in MLP_CASES.items()}
    cases.update({
        "mixture G+r1+ema on grid": case_mixture,
        "steps 0:1 -> 2:0 -> 1:1": case_zero_steps("alternating"),
        "steps 0:1 -> 2:0 -> 1:1 simultaneous": case_zero_steps("simultaneous"),
        "configure/set_lr mid-run": case_configure,
        "d_only/g_only steps": case_single_steps(0.0),
        "d_only/g_only steps ema=0.9": case_single_steps(0.9),
        "save/load round trip": case_round_trip({}),
        "save/load round trip ema+r1+pack": case_round_trip(dict(ema=0.9, r1_weight=1.0, pack=2)),
    })
    cases.update({f"recipe {name}": case_recipe(name) for name in RECIPE_NAMES})
    cases["live ring"] = case_live()
    cases["live ring simultaneous"] = case_live(update="simultaneous")
    cases["dcgan digits 8x8"] = case_dcgan(False)
    cases["dcgan digits 8x8 channels_last"] = case_dcgan(True)
    return cases


def select(cases: dict, patterns: str | None) -> dict:
    if not patterns:
        return cases
    wanted = [p.strip() for p in patterns.split(",") if p.strip()]
    return {name: run for name, run in cases.items() if any(p in name for p in wanted)}


# ---------------------------------------------------------------------------- collecting (child side)
def state(net):
    return None if net is None else dict(net.state_dict())


def optimizer_states(gan) -> dict:
    out = {}
    for name in ("opt_d", "opt_g"):
        opt = getattr(gan, name, None)
        out[name] = opt.state_dict() if opt is not None else f"<GAN has no attribute {name}>"
    return out


def samples_of(gan, probe: torch.Tensor) -> dict:
    """Fixed draws after training (in this order: they advance the GAN's noise generator)."""
    out = {"sample": gan.sample(N_SAMPLES)}
    if gan.settings().get("ema", 0) > 0:
        out["sample_G"] = gan.sample(N_SAMPLES, averaged=False)
    out["discriminate"] = gan.discriminate(probe)
    return out


def collect(gan, probe: torch.Tensor, extra: dict, work: Path) -> dict:
    """Everything compared, from a trained GAN; the checkpoint is saved last (its RNG state
    includes the draws of ``samples_of``)."""
    record = {"history": {k: list(v) for k, v in gan.history.items()}, "settings": gan.settings(), **extra}
    result = {"history": record,
              "weights": {"G": state(gan.G), "D": state(gan.D), "G_ema": state(getattr(gan, "G_ema", None))},
              "optimizer": optimizer_states(gan),
              "samples": samples_of(gan, probe)}
    path = work / "checkpoint.pt"
    gan.save(path)
    result["checkpoint contents"] = torch.load(path, weights_only=True)
    result["checkpoint bytes"] = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
    path.unlink()
    return result


def run_case(run, work: Path) -> dict:
    try:
        return collect(*run(work), work)
    except Exception as err:  # recorded: both sides must raise the same type
        return {"error": f"{type(err).__name__}: {err}", "error_type": type(err).__name__}


def child(tree: Path, out: Path, patterns: str | None) -> None:
    torch.set_num_threads(1)
    try:
        import gan_edu
    except Exception as err:  # a broken tree: every case fails with the import's error
        failed = {"error": f"import gan_edu: {type(err).__name__}: {err}", "error_type": type(err).__name__}
        cases = {name: failed for name in select(all_cases(), patterns)}
        torch.save({"gan_edu": None, "cases": cases, "seconds": {}}, out)
        return
    where = Path(gan_edu.__file__).resolve()
    if not where.is_relative_to(tree.resolve()):
        sys.exit(f"gan_edu was imported from {where}, not from the tree {tree}")
    results, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="bit_identity_") as work:
        for name, run in select(all_cases(), patterns).items():
            start = time.perf_counter()
            results[name] = run_case(run, Path(work))
            seconds[name] = time.perf_counter() - start
            print(f"  {name}: {seconds[name]:.1f} s", file=sys.stderr, flush=True)
    torch.save({"gan_edu": str(where), "cases": results, "seconds": seconds}, out)


# ---------------------------------------------------------------------------- comparing (parent side)
def show(value) -> str:
    """A value for a report line; floats with their bits (hex), since they may differ in the last one."""
    text = f"{value!r} ({value.hex()})" if isinstance(value, float) and math.isfinite(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a.hex() == b.hex()


def tensor_difference(a: torch.Tensor, b: torch.Tensor) -> str | None:
    """None when dtype, shape and every bit agree (NaN equal to NaN); else what differs."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"tensor {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    if torch.equal(a, b):
        if not a.is_floating_point() or a.numel() == 0:
            return None
        bits_a, bits_b = (t.reshape(-1).contiguous().view(torch.uint8) for t in (a, b))
        return None if torch.equal(bits_a, bits_b) else "equal values, different bits (signed zeros?)"
    if a.is_floating_point() or a.is_complex():
        unequal = (a != b) & ~(a.isnan() & b.isnan())
        if not unequal.any():
            return None
    else:
        unequal = a != b
    index = tuple(int(i) for i in unequal.nonzero()[0])
    return (f"{int(unequal.sum())} of {a.numel()} elements, first at {list(index)}: "
            f"{a[index].item()!r} vs {b[index].item()!r}")


def differences(a, b, path: str = "", limit: int | None = 1) -> list[str]:
    """The paths where nested ``a`` and ``b`` differ, each with how (at most ``limit``)."""
    if type(a) is not type(b):
        return [f"{path}: {type(a).__name__} {show(a)} vs {type(b).__name__} {show(b)}"]
    if isinstance(a, torch.Tensor):
        why = tensor_difference(a, b)
        return [] if why is None else [f"{path}: {why}"]
    if isinstance(a, dict):
        if list(a) != list(b):
            only = sorted(set(map(str, a)) ^ set(map(str, b)))
            return [f"{path or '(top)'}: keys differ" + (f" (only on one side: {only})" if only else " in order")]
        found = []
        for key in a:
            found += differences(a[key], b[key], f"{path}.{key}" if path else str(key), limit)
            if limit and len(found) >= limit:
                break
        return found[:limit]
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        found = []
        for i, (x, y) in enumerate(zip(a, b)):
            found += differences(x, y, f"{path}[{i}]", limit)
            if limit and len(found) >= limit:
                break
        return found[:limit]
    if isinstance(a, float):
        return [] if same_float(a, b) else [f"{path}: {show(a)} vs {show(b)}"]
    return [] if a == b else [f"{path}: {show(a)} vs {show(b)}"]


def zip_records(raw: bytes) -> tuple[set, dict]:
    """A torch.save file's folder names and its records, named without the folder."""
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = z.namelist()
        return {n.split("/", 1)[0] for n in names}, {n.split("/", 1)[-1]: z.read(n) for n in names}


# torch.save names the zip's one folder after the file it writes, and GAN.save writes to a
# randomly named temporary file (atomic_save's mkstemp), then renames it
RECORDS_SAME = "same bytes except the zip folder name"


def bytes_verdict(a: torch.Tensor, b: torch.Tensor) -> str:
    """'same'; RECORDS_SAME when the files are equal once one's folder name is written into the
    other (zip headers, offsets and every record included); else which record differs."""
    raw_a, raw_b = a.numpy().tobytes(), b.numpy().tobytes()
    if raw_a == raw_b:
        return "same"
    try:
        (folders_a, records_a), (folders_b, records_b) = zip_records(raw_a), zip_records(raw_b)
    except zipfile.BadZipFile:
        return f"differ ({len(raw_a)} vs {len(raw_b)} bytes, not zip files)"
    if len(folders_a) == len(folders_b) == 1:
        folder_a, folder_b = folders_a.pop().encode(), folders_b.pop().encode()
        if raw_a.replace(folder_a + b"/", folder_b + b"/") == raw_b:
            return RECORDS_SAME
    if list(records_a) != list(records_b):
        return "differ: record names " + "; ".join(differences(list(records_a), list(records_b))[:1])
    first = next((name for name in records_a if records_a[name] != records_b[name]), None)
    return "differ: zip metadata (every record the same)" if first is None else f"differ: record {first}"


def bn_note(old: dict, new: dict) -> str | None:
    """For nets with batch norm: whether only its running statistics differ, and where."""
    paths = differences(old["weights"], new["weights"], "weights", None)
    paths += differences(old["checkpoint contents"].get("nets"), new["checkpoint contents"].get("nets"),
                         "checkpoint.nets", None)
    if not any(k.endswith(BN_STATS) for group in old["weights"].values() if group for k in group):
        return None
    bn = [p for p in paths if p.split(":")[0].endswith(BN_STATS)]
    if not paths:
        return "BN running statistics: same (and every other tensor of the nets)"
    if len(bn) == len(paths):
        return "only BN running statistics differ: " + ", ".join(p.split(":")[0] for p in bn)
    return f"{len(paths) - len(bn)} non-BN net tensors differ too; BN statistics differing: " + (
        ", ".join(p.split(":")[0] for p in bn) or "none")


def compare_case(old: dict | None, new: dict | None) -> tuple[dict, list[str]]:
    """Cells per column ('same' or the first difference) and notes for one case."""
    if old is None or new is None:
        missing = "old" if old is None else "new"
        return {c: f"not run on the {missing} side" for c in COLUMNS}, []
    if "error" in old or "error" in new:
        if "error" in old and "error" in new and old["error_type"] == new["error_type"]:
            return {c: f"same (both raised {old['error_type']})" for c in COLUMNS}, [
                f"old: {old['error']}", f"new: {new['error']}"]
        cells = {c: "raised on " + ("both sides (different types)" if "error" in old and "error" in new
                                    else "the old side" if "error" in old else "the new side") for c in COLUMNS}
        return cells, [f"{side}: {r['error']}" for side, r in (("old", old), ("new", new)) if "error" in r]
    cells = {}
    for column in COMPARED:
        found = differences(old[column], new[column])
        cells[column] = found[0] if found else "same"
    cells["checkpoint bytes"] = bytes_verdict(old["checkpoint bytes"], new["checkpoint bytes"])
    note = bn_note(old, new)
    return cells, [note] if note else []


def identical(cells: dict) -> bool:
    return all(cells[c] == "same" or cells[c].startswith("same (both raised") for c in COMPARED)


FOLDER_NOTE = ("(*) the two files are byte-identical once one's zip folder name is written into the other: "
               "torch.save names that folder after the file it writes, and GAN.save writes to a randomly "
               "named temporary file (atomic_save's mkstemp), then renames it")
MAX_CELL = 34


def short(cell: str) -> str:
    """A table cell: 'same', or where it first differs (the details below the table say how)."""
    if cell.startswith(("same", "raised", "not run", "differ")):
        text = cell.replace(RECORDS_SAME, "same but folder name (*)")
    else:
        text = "DIFF " + cell.split(": ")[0]
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        if i == 0:
            print("-+-".join("-" * w for w in widths))


def report(old: dict, new: dict, names: list[str]) -> int:
    """Print the table, the details of each differing case and the summary; the number that differ."""
    rows, details, differ = [["case", *COLUMNS]], [], 0
    for name in names:
        cells, notes = compare_case(old["cases"].get(name), new["cases"].get(name))
        rows.append([name] + [short(cells[c]) for c in COLUMNS])
        differ += not identical(cells)
        long = [f"{c}: {cells[c]}" for c in COMPARED if not cells[c].startswith(("same", "raised", "not run"))]
        if long or notes:
            details.append((name, long + notes))
    print_table(rows)
    if any("(*)" in row[-1] for row in rows[1:]):
        print(FOLDER_NOTE)
    for name, lines in details:
        print(f"\n{name}:")
        for line in lines:
            print(f"    {line}")
    print(f"\n{len(names) - differ} of {len(names)} cases identical")
    return differ


# ---------------------------------------------------------------------------- running (parent side)
def extract(rev: str, repo: Path, into: Path) -> Path:
    """The tree of git revision ``rev`` of ``repo``, extracted into ``into`` (history only)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_side(label: str, tree: Path, out: Path, patterns: str | None, timeout: float) -> dict:
    """This script as a child on ``tree``; its results, or every case failing with the reason."""
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), "--out", str(out)]
    if patterns:
        command += ["--cases", patterns]
    print(f"{label}: {tree}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, env=env, cwd=out.parent, timeout=timeout)
        failure = None if done.returncode == 0 else f"the {label} child exited with status {done.returncode}"
    except subprocess.TimeoutExpired:
        failure = f"the {label} child ran past {timeout:.0f} s"
    print(f"{label}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    if failure is None and out.exists():
        return torch.load(out, weights_only=True)
    failure = failure or f"the {label} child wrote no results"
    names = select(all_cases(), patterns)
    return {"gan_edu": None, "cases": {n: {"error": failure, "error_type": "ChildFailed"} for n in names}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default=DEFAULT_OLD, help=f"a git revision of the repository (default {DEFAULT_OLD})")
    ap.add_argument("--new", type=Path, default=REPO, help="a source tree (default: this repository's working tree)")
    ap.add_argument("--repo", type=Path, default=REPO, help="the git repository --old is read from")
    ap.add_argument("--cases", help="only the cases whose name contains one of these comma-separated strings")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed to each side")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.out, args.cases)
        return 0
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bit_identity_") as tmp:
        tmp = Path(tmp)
        old_tree = extract(args.old, args.repo, tmp / "old")
        old = run_side(f"old ({args.old})", old_tree, tmp / "old.pt", args.cases, args.timeout)
        new = run_side("new", args.new.resolve(), tmp / "new.pt", args.cases, args.timeout)
    print(f"old: {args.old} ({old['gan_edu']})\nnew: {args.new} ({new['gan_edu']})\n")
    names = list(select(all_cases(), args.cases))
    differ = report(old, new, names)
    print(f"({time.perf_counter() - start:.0f} s)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
