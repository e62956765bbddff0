from alembic import context

from services.common.migrations import run_env

run_env(context)
