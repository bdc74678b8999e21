from . import zoom_disconnect_wizard
