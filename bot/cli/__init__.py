"""Staff command lines (``python -m bot.cli.dossiers``) and their shared scaffolding."""
