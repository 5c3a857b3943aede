"""Staff console: transcripts, review inbox, training loop and analytics.

Run with ``python -m bot.console`` (see docs/console.md). Nothing in here is
imported by the assistant itself: the console only reads the tracker store
and writes its own tables, training data files and model files.
"""
