"""gan_edu.device: picking the device, and describing it."""
import pytest
import torch

import gan_edu as ge


def test_device_auto_is_a_real_device():
    dev = ge.get_device("auto")
    assert dev.type in ("cuda", "mps", "cpu")
    assert ge.get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="device"):
        ge.get_device("tpu")
    assert "CPU" in ge.describe_device("cpu")
