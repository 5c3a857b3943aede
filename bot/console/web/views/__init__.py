"""Request handlers, one module per page group; each exports ``routes``."""
