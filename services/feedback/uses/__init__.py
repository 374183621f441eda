"""How the office used results: commendations, budget adjustments, accountability
interviews, training, personnel decisions, each linked to a department's result."""
