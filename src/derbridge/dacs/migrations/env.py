from derbridge.dacs.schema import metadata
from derbridge.store.migrations import run_env

run_env(metadata)
