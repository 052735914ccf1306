"""gan_edu.checkpoint: GAN.save and GAN.load, one atomic file read without running code."""
import os

import pytest
import torch
from torch import nn

from gan_edu import data, nets
from gan_edu.train import GAN
from support import make_gan, weights


def test_save_and_load_round_trip(tmp_path):
    gan = make_gan(loss="saturating")
    s = data.ring()
    gan.fit(s, 10, 16, progress=False)
    gan.set_lr(d=3e-3)
    gan.fit(s, 1, 16, progress=False)
    path = gan.save(tmp_path / "ckpt" / "gan.pt")
    assert [p.name for p in path.parent.iterdir()] == ["gan.pt"]  # no temp file left
    back = GAN.load(path, device="cpu")
    assert back.step == 11 and back.settings_now.loss == "saturating" and back.lr_d == 3e-3
    assert back.history == gan.history
    assert all(torch.equal(a, b) for a, b in zip(weights(gan), weights(back)))
    # resumes exactly: same next steps from both
    s1, s2 = data.ring(seed=9), data.ring(seed=9)
    gan.fit(s1, 3, 16, progress=False)
    back.fit(s2, 3, 16, progress=False)
    assert gan.history["loss_d"] == back.history["loss_d"]


def test_checkpoints_keep_the_round_settings_and_older_ones_load_with_defaults(tmp_path):
    gan = make_gan(d_steps=0, g_steps=2, update="simultaneous", label_smoothing="two_sided", smoothing=0.05)
    gan.fit(data.ring(), 2, 8, progress=False)
    back = GAN.load(gan.save(tmp_path / "g.pt"), device="cpu")
    assert back.settings() == gan.settings()
    assert back.history["loss_d"][0] != back.history["loss_d"][0]  # NaN survives the round trip
    # an older checkpoint without the new keys loads with the defaults
    state = torch.load(tmp_path / "g.pt", weights_only=True)
    for key in ("g_steps", "update", "label_smoothing", "smoothing"):
        del state["settings"][key]
    state["settings"]["d_steps"] = 1
    del state["checksum"]  # older checkpoints had no checksum either
    torch.save(state, tmp_path / "old.pt")
    old = GAN.load(tmp_path / "old.pt", device="cpu")
    assert (old.settings_now.g_steps, old.settings_now.update, old.settings_now.label_smoothing, old.settings_now.smoothing) == (1, "alternating", "none", 0.1)


def test_save_and_load_keep_pack_and_gp(tmp_path):
    gan = make_gan(pack=2, gp_weight=10.0, loss="wasserstein", d_steps=2)
    gan.fit(data.ring(), 3, 16, progress=False)
    back = GAN.load(gan.save(tmp_path / "gan.pt"), device="cpu")
    assert (back.settings_now.pack, back.settings_now.gp_weight, back.settings_now.loss, back.settings_now.d_steps) == (2, 10.0, "wasserstein", 2)
    s1, s2 = data.ring(seed=3), data.ring(seed=3)
    gan.fit(s1, 2, 16, progress=False)
    back.fit(s2, 2, 16, progress=False)
    assert gan.history["loss_d"] == back.history["loss_d"]


def test_load_custom_nets_and_bad_files(tmp_path):
    class Tiny(nn.Module):
        noise_dim = 2

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, z):
            return self.lin(z)

    gan = GAN(Tiny(), nets.MLPDiscriminator(2, hidden=8), device="cpu")
    path = gan.save(tmp_path / "g.pt")
    with pytest.raises(ValueError, match="pass generator="):
        GAN.load(path)
    back = GAN.load(path, generator=Tiny(), device="cpu")
    assert torch.equal(back.G.lin.weight, gan.G.lin.weight)
    with pytest.raises(ValueError, match="do not fit"):
        GAN.load(path, generator=Tiny(), discriminator=nets.MLPDiscriminator(2, hidden=9))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable gan_edu checkpoint"):
        GAN.load(junk)


def test_load_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "gan_edu/1", "x": Evil()}, path)
    with pytest.raises(ValueError, match="not a readable"):
        GAN.load(path)


def test_a_save_is_on_the_disk_before_the_rename_makes_it_the_file(tmp_path, monkeypatch):
    order = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b))[1])
    make_gan().save(tmp_path / "gan.pt")
    assert order == ["fsync", "replace"]
