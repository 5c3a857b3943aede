"""The knowledge base: procedure facts with sources (``data/procedures``) and answers."""
