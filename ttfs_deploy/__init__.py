"""ttfs-deploy: time-to-first-spike SNNs from training to Loihi-class hardware."""

__version__ = "0.1.0"
