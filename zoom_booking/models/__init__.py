from . import (
    booking_calendar,
    calendar_event,
    res_config_settings,
    res_users,
    zoom_connection,
)
