package emulator

import (
	"testing"
	"time"
)

// TestCloneIsIndependent renews, revokes and moves the clock on a clone and
// checks that the original saw none of it, and the reverse; a replayed
// renew on the clone answers as the original would have.
func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	e := New(Options{Start: testStart})
	if _, err := e.SeedClient("c1", "s3cret-one", testStart.Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tok, aerr := e.issueToken("c1", "s3cret-one", "client_credentials", mgmt)
	if aerr != nil {
		t.Fatal(aerr)
	}
	first, _, aerr := e.renew(tok.accessToken, "c1", renewParams{idempotencyKey: "k1"})
	if aerr != nil {
		t.Fatal(aerr)
	}

	c := e.Clone()
	replay, replayed, aerr := c.renew(tok.accessToken, "c1", renewParams{idempotencyKey: "k1"})
	if aerr != nil || !replayed || replay.value != first.value || replay.secret.SecretID != first.secret.SecretID {
		t.Fatalf("replay on the clone: replayed=%v err=%v, same secret=%v", replayed, aerr, replay.secret.SecretID == first.secret.SecretID)
	}
	if _, aerr := c.revoke(tok.accessToken, "c1", first.secret.SecretID); aerr != nil {
		t.Fatal(aerr)
	}
	c.Advance(48 * time.Hour)

	orig, _ := e.Client("c1")
	if s, ok := orig.Find(first.secret.SecretID); !ok || !s.Status.Valid() {
		t.Errorf("revoking on the clone changed the original: %+v", s)
	}
	if !e.Now().Equal(testStart) {
		t.Errorf("advancing the clone's clock moved the original's to %s", e.Now())
	}
	if !e.Accepts("c1", first.value) || c.Accepts("c1", first.value) {
		t.Errorf("accepts the renewed secret: original %v (want true), clone %v (want false)", e.Accepts("c1", first.value), c.Accepts("c1", first.value))
	}

	if _, err := e.SeedClient("c2", "s3cret-two", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Client("c2"); ok {
		t.Error("a client seeded on the original appeared on the clone")
	}
}
