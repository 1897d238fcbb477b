"""statedata: the platform a state runs to carry out its state data plan."""
