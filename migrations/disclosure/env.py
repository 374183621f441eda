from migrations.env_common import run_migrations
from services.disclosure.models import Base

run_migrations(Base.metadata, "disclosure")
