from . import controllers, models, tools, wizards
