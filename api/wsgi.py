"""``gunicorn 'api.wsgi:app'``: the app built from the environment."""

from api.app import create_app

app = create_app()
