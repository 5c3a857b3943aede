"""Live handoff to staff: the queue, office hours and the relay to the citizen's channel."""
