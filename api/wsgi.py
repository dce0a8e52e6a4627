"""``gunicorn 'api.wsgi:app'``: the app built from the environment; ``asgi_app`` is the same app
behind the event loop that ``eventry serve`` runs (see ``api.asgi``), which feeds a chunk
upload's body to its receiver as it arrives. Each server process imports this module before it
accepts connections, and warms its connections then (``infra.warmup``)."""

from api.app import create_app
from api.asgi import threaded
from api.routes.uploads import streamed_bodies
from infra.warmup import warm

app = create_app()
warm(app.extensions["eventry"])
asgi_app = threaded(app, streamed_bodies(app))
