"""gan_edu.settings: each setting defined once (default, check, live or not, JSON form)."""
import dataclasses
import json

import pytest

from gan_edu import nets
from gan_edu.settings import Settings, Switches, check_together, checked_changes, construction_only, live_names
from gan_edu.train import GAN


def test_defaults_round_trip_through_json():
    s = Settings()
    assert Settings(**json.loads(json.dumps(s.to_json()))).to_json() == s.to_json()
    assert s.to_json()["betas"] == [0.5, 0.999]


def test_gan_settings_are_exactly_the_fields():
    gan = GAN(nets.MLPGenerator(), nets.MLPDiscriminator(), device="cpu")
    assert list(gan.settings()) == [f.name for f in dataclasses.fields(Settings)]
    assert gan.settings() == Settings().to_json()


def test_live_and_construction_only_split_the_fields():
    assert set(live_names()) | set(construction_only()) == {f.name for f in dataclasses.fields(Settings)}
    assert set(construction_only()) == {"betas", "seed", "pack", "ema", "spectral_norm"}


@pytest.mark.parametrize("kw, error, words", [
    (dict(lr_d=0), ValueError, "lr_d"), (dict(lr_g="1"), TypeError, "lr_g"), (dict(betas=(1.0, 0.9)), ValueError, "betas"),
    (dict(loss="hinge"), ValueError, "loss"), (dict(d_steps=11), ValueError, "d_steps"),
    (dict(d_steps=0, g_steps=0), ValueError, "both be 0"), (dict(smoothing=0.5), ValueError, "smoothing"),
    (dict(pack=0), ValueError, "pack"), (dict(gp_weight=-1), ValueError, "gp_weight"), (dict(ema=1.0), ValueError, "ema"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer"), (dict(noise="cauchy"), ValueError, "noise"),
    (dict(spectral_norm="yes"), TypeError, "spectral_norm"), (dict(spectral_norm=1), TypeError, "spectral_norm"),
])
def test_each_check_names_its_setting(kw, error, words):
    with pytest.raises(error, match=words):
        Settings(**kw)


def test_switches_are_checked():
    with pytest.raises(TypeError, match="channels_last"):
        Switches(channels_last=1)
    with pytest.raises(TypeError, match="compile"):
        Switches(compile=3)
    with pytest.raises(ValueError, match="amp"):
        Switches(amp="fp8")


def test_checked_changes():
    own = Settings().to_json()
    assert checked_changes(dict(lr_d=1e-3, pack=1), own) == {"lr_d": 1e-3}  # own pack: accepted, dropped
    with pytest.raises(ValueError, match="pack is fixed"):
        checked_changes(dict(pack=2), own)
    with pytest.raises(ValueError, match="cannot configure"):
        checked_changes(dict(colour="red"), own)
    with pytest.raises(TypeError, match="lr_g"):
        checked_changes(dict(lr_g=None), own)


def test_settings_and_switches_that_cannot_train_together_are_refused():
    check_together(Settings(spectral_norm=True), Switches())
    check_together(Settings(), Switches(compile=True))
    with pytest.raises(ValueError, match="spectral_norm=True cannot be combined with compile='eager'"):
        check_together(Settings(spectral_norm=True), Switches(compile="eager"))
