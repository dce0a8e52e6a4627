"""``gunicorn 'api.wsgi:app'``: the app built from the environment; ``asgi_app`` is the same app
behind the event loop that ``eventry serve`` runs (see ``api.asgi``)."""

from api.app import create_app
from api.asgi import threaded

app = create_app()
asgi_app = threaded(app)
