"""Comment and conversation code shared by the Facebook and Instagram apps (which may not import
each other). Each app keeps its concrete models, FKs, constraints and tables; this package holds
the identical fields and the logic parametrized by a small per-platform spec."""
