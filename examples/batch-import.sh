#!/usr/bin/env bash
# batch-import.sh: create households in one atomic batch over the JSON
# gateway, retrying safely. The request id is fixed before the first attempt
# and sent with every retry, so a batch whose answer was lost to the network
# is answered from the server's record instead of being created twice.
#
#   CASEWORK_TOKEN=cwk_… ./batch-import.sh households.json [request-id]
#
# households.json holds the batch body without its request id:
#   {"requests":[{"household":{…}}, …]}   (at most 1000 items)
# Without a request id argument, one is derived from the file's content, so
# running the job again on the same file is harmless too.
set -euo pipefail

file=${1:?usage: batch-import.sh FILE [REQUEST_ID]}
base=${CASEWORK_URL:-http://localhost:8080}
request_id=${2:-batch-$(sha256sum "$file" | cut -c1-32)}
attempts=${CASEWORK_ATTEMPTS:-6}

body=$(mktemp)
answer=$(mktemp)
trap 'rm -f "$body" "$answer"' EXIT
# The request id goes first in the body; the rest is the file as given.
printf '{"requestId":"%s",%s' "$request_id" "$(sed -e '0,/{/s/{//' "$file")" >"$body"

delay=1
for attempt in $(seq 1 "$attempts"); do
	code=$(curl -sS -o "$answer" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer ${CASEWORK_TOKEN:?set CASEWORK_TOKEN}" \
		-H 'Content-Type: application/json' \
		--data-binary @"$body" "$base/v1/households:batchCreate") || code=000
	case $code in
	200)
		echo "created $(grep -o '"name":"households/[^"]*"' "$answer" | wc -l) households (request id $request_id)"
		exit 0
		;;
	000 | 429 | 500 | 502 | 503 | 504)
		# Lost, refused for now, or the server failed: the same request id
		# makes another attempt safe.
		echo "attempt $attempt: HTTP $code; retrying in ${delay}s" >&2
		sleep "$delay"
		delay=$((delay * 2))
		;;
	*)
		# The batch itself was refused (nothing was created): the answer
		# names each refused item as requests[i].
		echo "batch refused with HTTP $code:" >&2
		cat "$answer" >&2
		echo >&2
		exit 1
		;;
	esac
done
echo "gave up after $attempts attempts; run again with request id $request_id" >&2
exit 2
