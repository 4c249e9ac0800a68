package equifax

import (
	"crypto/sha256"
	"encoding/hex"
)

// IdempotencyKey derives the Idempotency-Key of a renew from the client id and
// the secret id being replaced, so that every retry of one rotation, even
// from another process after a crash, replays the same renew instead of
// minting a second secret.
func IdempotencyKey(clientID, currentSecretID string) string {
	sum := sha256.Sum256([]byte("credrotate/renew\x00" + clientID + "\x00" + currentSecretID))
	return "credrotate-" + hex.EncodeToString(sum[:16])
}
