#!/bin/sh
# Create the secret files docker-compose.yml mounts (docker secrets), once per tier, never committed.
#   sh deploy/compose/make-secrets.sh [directory]      (default: deploy/compose/secrets)
# Existing files are kept, so re-running only fills in what is missing. Passwords are hex (URL-safe:
# they go into amqp:// and postgresql:// URLs). The shovel password must be the SAME in the
# province's and each city's directory (the shovels log in to the other tier's broker): copy
# shovel_password across after creating both (docs/RUNBOOK.md#bring-up-with-docker-compose).
set -eu
dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
chmod 700 "$dir"
random() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
make() {  # make <name> <command…>
  name=$1; shift
  if [ ! -s "$dir/$name" ]; then
    # 0644 inside a 0700 directory: the directory keeps them private on the host, and the files stay
    # readable by the non-root users of the containers they are bind-mounted into (docker secrets
    # without swarm keep the host file's mode and owner).
    (umask 022; "$@" > "$dir/$name")
    echo "created $dir/$name"
  fi
}
for name in postgres_password db_records_password db_review_password db_disclosure_password \
            db_complaints_password db_evaluation_password amqp_password shovel_password \
            rabbitmq_admin_password dept_320400_scjg_password dept_320400_12345_password \
            grafana_admin_password token_secret; do
  make "$name" random
done
# Ed25519 signing key of the records log's tree heads: 32-byte seed as 64 hex digits (REC-4).
make records_signing_key python3 -c 'import secrets; print(secrets.token_hex(32))'
# Departmental API keys (hashes only): add systems with `zhifa api-key` (docs/RUNBOOK.md#add-a-county).
make api_keys echo "[]"
