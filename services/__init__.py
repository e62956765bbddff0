"""zhifa services. Set before any psycopg import: psycopg 3's C wait function blocks every green
thread under eventlet (../shared/NAMEKO-NOTES.md); ``wait_select`` is cooperative after monkey_patch."""
import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
