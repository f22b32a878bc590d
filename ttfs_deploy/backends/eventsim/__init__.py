"""Integer event-driven reference simulator with NeuroBench-style operation counts."""

from ttfs_deploy.backends.eventsim.simulator import EventSim, simulate

__all__ = ["EventSim", "simulate"]
