"""Hardware profiles: bit widths, per-core limits, timing and energy per event (TOML files)."""

from ttfs_deploy.hw.profile import HardwareProfile, list_profiles, load_profile

__all__ = ["HardwareProfile", "list_profiles", "load_profile"]
