"""The console's web application (aiohttp): pages for staff and a JSON API.

``app`` assembles it, ``middleware`` guards every request (session, CSRF,
same origin, security headers), ``responses`` and ``templating`` are what the
handlers answer with, and ``views`` holds one module of handlers per page group.
"""
