"""Backends that run a deployable :class:`~ttfs_deploy.ir.IntNetwork`: eventsim, lava, torch."""
