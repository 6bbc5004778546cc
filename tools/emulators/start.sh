#!/usr/bin/env bash
# Starts Azurite (Azure Blob) and s3rver (S3) on 127.0.0.1 for trying object-store roots by hand
# and for `actorckpt bench --dir az://... | s3://...` (the tests start their own). Installs them
# first when missing. Prints the environment to export; `tools/emulators/start.sh stop` stops them.
# Data goes under ${EMULATOR_DATA:-/tmp/actorckpt-emulators}.
set -euo pipefail
cd "$(dirname "$0")"
data=${EMULATOR_DATA:-/tmp/actorckpt-emulators}
azure_port=${AZURITE_PORT:-10000}
s3_port=${S3RVER_PORT:-4568}
if [ "${1:-}" = stop ]; then
  for f in "$data"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; done
  exit 0
fi
[ -x node_modules/.bin/s3rver ] || npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$data/azurite" "$data/s3rver"
node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$azure_port" --location "$data/azurite" --silent --skipApiVersionCheck --loose --disableTelemetry >"$data/azurite.log" 2>&1 &
echo $! > "$data/azurite.pid"
# s3rver 3.7's list continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider.
NODE_OPTIONS=--openssl-legacy-provider node_modules/.bin/s3rver --address 127.0.0.1 --port "$s3_port" --directory "$data/s3rver" --silent --no-vhost-buckets >"$data/s3rver.log" 2>&1 &
echo $! > "$data/s3rver.pid"
for port in "$azure_port" "$s3_port"; do
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
cat <<ENV
export AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$azure_port/devstoreaccount1;'
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$s3_port
ENV
