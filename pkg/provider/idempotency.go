package provider

import (
	"crypto/sha256"
	"encoding/hex"
)

// IdempotencyKey derives the idempotency key of a create from the client id
// and the secret id being replaced, so that every retry of one rotation, even
// from another process after a crash, is recognised as the same create.
func IdempotencyKey(clientID, currentSecretID string) string {
	sum := sha256.Sum256([]byte("credrotate/renew\x00" + clientID + "\x00" + currentSecretID))
	return "credrotate-" + hex.EncodeToString(sum[:16])
}
