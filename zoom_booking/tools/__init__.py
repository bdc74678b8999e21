from . import zoom_client
