from . import zoom_disconnect_wizard
from . import booking_reassign_wizard
