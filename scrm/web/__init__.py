"""The web UI: page controllers, jinja2 templates, UI text in English and Chinese, static files."""
