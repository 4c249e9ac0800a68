package wire

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/pkg/equifax"
)

// TokenCache keeps one access token per client id, secret and scope, and
// renews it Delta before it expires (oauth2.ReuseTokenSourceWithExpiry).
// One fetch runs at a time per key. It is safe for concurrent use.
type TokenCache struct {
	// Delta is how long before expiry a token is replaced.
	Delta time.Duration

	mu      sync.Mutex
	entries map[string]*tokenEntry
	// pruneAt is the number of entries at which the next prune runs: twice
	// what the last one kept, so that pruning costs O(1) per new entry.
	pruneAt int
}

type tokenEntry struct {
	// users counts the callers between entry and release (guarded by
	// TokenCache.mu): an entry in use is never pruned, or a caller about to
	// fill it would fill a forgotten one and the next caller fetch again.
	users int

	mu  sync.Mutex
	tok *oauth2.Token
}

func tokenKey(creds equifax.Credentials, scope string) string {
	h := sha256.New()
	h.Write([]byte(creds.ClientID))
	h.Write([]byte{0})
	h.Write([]byte(creds.ClientSecret.Reveal()))
	h.Write([]byte{0})
	h.Write([]byte(scope))
	return hex.EncodeToString(h.Sum(nil))
}

// minPrune is the size below which the cache is never pruned.
const minPrune = 64

// entry returns the entry of creds and scope, held for the caller until it
// calls release.
func (c *TokenCache) entry(creds equifax.Credentials, scope string) (e *tokenEntry, release func()) {
	key := tokenKey(creds, scope)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*tokenEntry{}
	}
	e, ok := c.entries[key]
	if !ok {
		if len(c.entries) >= max(c.pruneAt, minPrune) {
			c.pruneLocked()
		}
		e = &tokenEntry{}
		c.entries[key] = e
	}
	e.users++
	return e, func() {
		c.mu.Lock()
		e.users--
		c.mu.Unlock()
	}
}

// pruneLocked forgets expired tokens that no caller holds, so that the
// cache does not grow with every secret a long-running process has seen.
func (c *TokenCache) pruneLocked() {
	now := time.Now()
	for k, e := range c.entries {
		// users is 0, so no caller holds e.mu either.
		if e.users == 0 && (e.tok == nil || (!e.tok.Expiry.IsZero() && e.tok.Expiry.Before(now))) {
			delete(c.entries, k)
		}
	}
	c.pruneAt = 2 * len(c.entries)
}

// Get returns the cached token for creds and scope, or fetches one when
// there is none or it expires within Delta.
func (c *TokenCache) Get(ctx context.Context, creds equifax.Credentials, scope string, fetch func(ctx context.Context) (*oauth2.Token, error)) (*oauth2.Token, error) {
	e, release := c.entry(creds, scope)
	defer release()
	e.mu.Lock()
	defer e.mu.Unlock()
	src := tokenSourceFunc(func() (*oauth2.Token, error) { return fetch(ctx) })
	t, err := oauth2.ReuseTokenSourceWithExpiry(e.tok, src, c.Delta).Token()
	if err != nil {
		e.tok = nil
		return nil, err
	}
	e.tok = t
	return t, nil
}

// Put caches t for creds and scope.
func (c *TokenCache) Put(creds equifax.Credentials, scope string, t *oauth2.Token) {
	e, release := c.entry(creds, scope)
	defer release()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tok = t
}

// Drop forgets the cached token of creds and scope if it is still t.
func (c *TokenCache) Drop(creds equifax.Credentials, scope string, t *oauth2.Token) {
	e, release := c.entry(creds, scope)
	defer release()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tok != nil && t != nil && e.tok.AccessToken == t.AccessToken {
		e.tok = nil
	}
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// TokenRejected reports whether err says that the access token, not the
// client secret, is no longer good (401.01 expired, 401.03 invalid or
// revoked): the caller drops it and tries once more with a new one.
func TokenRejected(err error) bool {
	e, ok := AsError(err)
	return ok && (e.Code == "401.01" || e.Code == "401.03")
}

// AsError returns err as an *equifax.Error.
func AsError(err error) (*equifax.Error, bool) {
	var e *equifax.Error
	ok := errors.As(err, &e)
	return e, ok
}
