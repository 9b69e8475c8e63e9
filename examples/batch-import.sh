#!/usr/bin/env bash
# batch-import.sh: import households in one batch over the JSON gateway,
# retrying safely, and say what became of each row. The request id is fixed
# before the first attempt and sent with every retry, so a batch whose
# answer was lost to the network is answered from the server's record
# instead of being written twice.
#
#   CASEWORK_TOKEN=cwk_… ./batch-import.sh households.json [request-id]
#
# households.json holds the batch body without its request id:
#   {"requests":[{"household":{…}}, …]}   (at most 1000 items)
# Without a request id argument, one is derived from the file's content and
# the options below, so running the job again on the same file is harmless
# too; a changed file is a new request.
#
# A nightly job that re-runs a changed file says what to do with rows whose
# servicemember is already registered:
#   CASEWORK_EXISTING=FAIL    the whole batch is refused (the default)
#   CASEWORK_EXISTING=SKIP    the row is left alone
#   CASEWORK_EXISTING=UPDATE  the household is made what the row says (a row
#                             that changes nothing writes nothing)
#   CASEWORK_PARTIAL=1        write the rows that pass even when others are
#                             refused (each refused row says why)
# It prints one line per row (created, updated, unchanged, skipped or
# refused, with the household's name or the reason) and a summary. Needs
# curl and jq.
set -euo pipefail

file=${1:?usage: batch-import.sh FILE [REQUEST_ID]}
base=${CASEWORK_URL:-http://localhost:8080}
existing=${CASEWORK_EXISTING:-FAIL}
partial=false
[[ ${CASEWORK_PARTIAL:-} == 1 || ${CASEWORK_PARTIAL:-} == true ]] && partial=true
case $existing in
FAIL | SKIP | UPDATE) ;;
*)
	echo "CASEWORK_EXISTING must be FAIL, SKIP or UPDATE" >&2
	exit 64
	;;
esac
request_id=${2:-batch-$( (cat "$file" && echo "$existing $partial") | sha256sum | cut -c1-32)}
attempts=${CASEWORK_ATTEMPTS:-6}

body=$(mktemp)
answer=$(mktemp)
trap 'rm -f "$body" "$answer"' EXIT
jq -c --arg id "$request_id" --arg mode "EXISTING_MODE_$existing" --argjson partial "$partial" \
	'. + {requestId: $id, existingMode: $mode, allowPartialSuccess: $partial}' "$file" >"$body"

delay=1
for attempt in $(seq 1 "$attempts"); do
	code=$(curl -sS -o "$answer" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer ${CASEWORK_TOKEN:?set CASEWORK_TOKEN}" \
		-H 'Content-Type: application/json' \
		--data-binary @"$body" "$base/v1/households:batchCreate") || code=000
	case $code in
	200)
		# One line per row, then the counts. A refused row names its
		# reason (the ErrorInfo's) and the fields at fault, never values.
		jq -r '.results | to_entries[] | .value as $r
			| ($r.outcome | sub("^OUTCOME_"; "") | ascii_downcase) as $what
			| if $what == "refused" then
				"row \(.key): refused \([$r.error.details[]? | select(has("reason")) | .reason][0] // "")"
				+ ([$r.error.details[]? | .fieldViolations[]?.field] | if length > 0 then " (" + join(", ") + ")" else "" end)
			else "row \(.key): \($what) \($r.household) \($r.etag)" end' "$answer"
		jq -r --arg id "$request_id" '[.results[].outcome] as $o
			| def n(x): [$o[] | select(. == x)] | length;
			"created \(n("OUTCOME_CREATED")) households, updated \(n("OUTCOME_UPDATED")), unchanged \(n("OUTCOME_UNCHANGED")), skipped \(n("OUTCOME_SKIPPED")), refused \(n("OUTCOME_REFUSED")) (request id \($id))"' "$answer"
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
		# The batch itself was refused (nothing was written): the answer
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
