#!/usr/bin/env bash
# baseline.sh renews provider keys the way a team without credrotate scripts
# it, one key at a time: for each key, curl a token and the renew from
# Equifax, kubeseal the new secret once per environment, write the files,
# commit, push a branch and open a pull request with curl. It is the
# benchmark's baseline (test/bench runs it against a demo world); it is not a
# tool to run against a real Equifax or GitHub.
#
# Inputs, all from the environment:
#   EMULATOR_URL   Equifax (the emulator), e.g. http://127.0.0.1:41234
#   HUB_URL        GitHub (localhub), e.g. http://127.0.0.1:41235
#   GIT_URL        the GitOps repository's clone URL
#   GITHUB_TOKEN   token for the push and the pull requests
#   KEYS_FILE      one key a line: "<provider key> <client id> <current secret file> <secret name>"
#   CERT_DIR       holds <env>.crt, each environment's sealing certificate
#   KUBESEAL       the kubeseal binary
#   WORK           an empty scratch folder
#   ENVS           environments (default "prod staging uat"); each seals into
#                  overlays/<env>/credentials/<provider key>.yaml in namespace credit-<env>
#   SCOPE, OWNER, REPO, BASE   optional
#
# Output on stdout: clone_ms=<ms> after the clone, key_done=<n> ms=<ms since
# start> after each key, and done=<n> at the end. Plaintext secrets stay in
# shell variables and pipes: never in a file, an argument or the output.
set -euo pipefail
trap 'echo "baseline.sh: failed at line $LINENO" >&2' ERR

: "${EMULATOR_URL:?}" "${HUB_URL:?}" "${GIT_URL:?}" "${GITHUB_TOKEN:?}" "${KEYS_FILE:?}" "${CERT_DIR:?}" "${KUBESEAL:?}" "${WORK:?}"
SCOPE=${SCOPE:-https://api.equifax.com/business/security/v1}
ENVS=${ENVS:-prod staging uat}
OWNER=${OWNER:-acme}
REPO=${REPO:-gitops}
BASE=${BASE:-main}

now_ms() { date +%s%3N; }
start=$(now_ms)

git clone --quiet --depth 1 --single-branch --branch "$BASE" "$GIT_URL" "$WORK/repo"
cd "$WORK/repo"
git config user.name "Platform Team"
git config user.email "platform@example.com"
push_url=${GIT_URL/:\/\//://x-access-token:${GITHUB_TOKEN}@}
echo "clone_ms=$(($(now_ms) - start))"

n=0
while read -r key client secret_file name; do
	[ -n "$key" ] || continue
	current=$(tr -d '\n' <"$secret_file")

	# 1. A token with the current secret, then the renew.
	token=$(printf '%s' "$current" | curl -sSf -X POST "$EMULATOR_URL/v2/oauth/token" \
		--data-urlencode grant_type=client_credentials --data-urlencode "scope=$SCOPE" \
		--data-urlencode "client_id=$client" --data-urlencode "client_secret@-" | jq -er .access_token)
	renewed=$(curl -sSf -X POST "$EMULATOR_URL/business/security/v1/clients/$client/secrets" \
		-H "Authorization: Bearer $token" -H "Content-Type: application/json" \
		-H "Idempotency-Key: baseline-$client-$(now_ms)" -d '{"gracePeriodSeconds":604800}')
	new=$(jq -er .secret.clientSecret <<<"$renewed")
	secret_id=$(jq -er .secret.secretId <<<"$renewed")

	# 2. Seal it for every environment, on a branch from the base.
	branch="rotate/$key"
	git checkout --quiet -B "$branch" "origin/$BASE"
	value=$(printf '%s' "$new" | base64 -w0)
	for env in $ENVS; do
		printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: credit-%s\ntype: Opaque\ndata:\n  client_secret: %s\n' "$name" "$env" "$value" |
			"$KUBESEAL" --cert "$CERT_DIR/$env.crt" --scope strict --format yaml >"overlays/$env/credentials/$key.yaml"
	done

	# 3. Commit, push, open the pull request.
	git add overlays
	git commit --quiet -m "Rotate $key to $secret_id"
	git push --quiet --force "$push_url" "HEAD:refs/heads/$branch"
	curl -sSf -X POST "$HUB_URL/api/v3/repos/$OWNER/$REPO/pulls" \
		-H "Authorization: token $GITHUB_TOKEN" -H "Accept: application/vnd.github+json" \
		-d "{\"title\":\"Rotate $key\",\"head\":\"$branch\",\"base\":\"$BASE\",\"body\":\"New secret $secret_id for $key, sealed for $ENVS.\"}" >/dev/null

	n=$((n + 1))
	echo "key_done=$n ms=$(($(now_ms) - start))"
done <"$KEYS_FILE"
echo "done=$n"
