from . import zoom_client
from . import zoom_webhook
