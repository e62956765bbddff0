#!/bin/sh
# Create the secret files a tier suite needs (docker secrets and the broker definitions' passwords),
# once per tier, never committed:
#   sh deploy/compose/make-secrets.sh [directory] [broker definitions template]
#     directory: default deploy/compose/secrets
#     template:  default deploy/broker/definitions-${ZHIFA_BROKER_DEFINITIONS:-city-320400}.json
# Existing files are kept, so re-running only fills in what is missing. Every ${hash:NAME} /
# ${secret:NAME} placeholder of the tier's broker definitions gets a file NAME: the suite's broker
# password, the admin's, one link password per city link (link_<city>_password) and the departmental
# users'. A link password must be the SAME in the province's and that city's directory (the link
# user logs in to both brokers): after creating both, copy link_<city>_password from the city's
# directory into the province's (docs/RUNBOOK.md#add-a-city). Passwords are hex (URL-safe: they go
# into amqp:// and postgresql:// URLs).
set -eu
here=$(dirname "$0")
dir="${1:-$here/secrets}"
template="${2:-$here/../broker/definitions-${ZHIFA_BROKER_DEFINITIONS:-city-320400}.json}"
if [ ! -r "$template" ]; then
  echo "make-secrets: broker definitions template $template not found" >&2
  exit 1
fi
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
broker=$(grep -oE '\$\{(hash|secret):[a-z0-9_]+\}' "$template" | sed -e 's/^.*://' -e 's/}$//' | sort -u)
for name in postgres_password db_records_password db_review_password db_disclosure_password \
            db_complaints_password db_evaluation_password amqp_password rabbitmq_admin_password \
            grafana_admin_password token_secret $broker; do
  make "$name" random
done
# Ed25519 signing key of the records log's tree heads: 32-byte seed as 64 hex digits (REC-4).
make records_signing_key python3 -c 'import secrets; print(secrets.token_hex(32))'
# SM2 key of the complaint receipts (issue 22; PKCS#8 PEM; OpenSSL 3 on this host).
make complaints_receipt_signing_key openssl genpkey -algorithm SM2
# The client secret the identity platform issued for zhifa (staff sign-in): replace the placeholder
# with it (docs/RUNBOOK.md#staff-sign-in-oidc).
make oidc_client_secret echo "CHANGE-ME-issued-by-the-identity-platform"
# Department registry and API keys (hashes only): add systems with `zhifa api-key` (docs/RUNBOOK.md#add-a-county).
make api_keys echo "[]"
