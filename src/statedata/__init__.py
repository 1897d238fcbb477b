"""statedata: the platform a state runs to carry out its state data plan."""

__version__ = "0.1.0"
