package equifax

import "github.com/credrotate/credrotate/pkg/provider"

// IdempotencyKey derives the Idempotency-Key of a renew from the client id and
// the secret id being replaced, so that every retry of one rotation, even
// from another process after a crash, replays the same renew instead of
// minting a second secret.
func IdempotencyKey(clientID, currentSecretID string) string {
	return provider.IdempotencyKey(clientID, currentSecretID)
}
