"""Public pages, rendered on the server: Jinja2 templates, SVG charts, no scripts, nothing
loaded from elsewhere. Chinese by default, English with `?lang=en`."""
