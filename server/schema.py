"""Import every table module so ``Base.metadata`` is complete (Alembic, tests)."""

from server import jobs
from server.auth import models as auth_models
from server.catalog import models as catalog_models
from server.database import Base
from server.feedback import invitation_models
from server.feedback import models as feedback_models
from server.messaging import models as messaging_models
from server.panels import models as panel_models

__all__ = [
    "Base",
    "auth_models",
    "catalog_models",
    "feedback_models",
    "invitation_models",
    "jobs",
    "messaging_models",
    "panel_models",
]
