"""What corsfast observes of its own decisions: the reasons it gives, the counts it keeps, the
refusals it logs. Plain Python shared by both engines: it runs when a count is read or a
refusal is logged, never on the path of an allowed request."""
