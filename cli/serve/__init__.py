"""`vibehq approvals serve`: the approval queue as a local web page (Starlette, Jinja2)."""
