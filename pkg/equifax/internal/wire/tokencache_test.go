package wire

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// TestTokenCacheOneFetchPerKey: many clients asking at once, each twice, get
// one token fetch each. Pruning, which runs as new clients arrive, never
// forgets an entry another caller is about to fill, so no client's token is
// fetched twice.
func TestTokenCacheOneFetchPerKey(t *testing.T) {
	t.Parallel()
	const clients = 500
	var c TokenCache
	var fetches [clients]atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		creds := equifax.Credentials{ClientID: fmt.Sprintf("client-%d", i), ClientSecret: credential.NewSecret(fmt.Sprintf("secret-%d", i))}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := c.Get(context.Background(), creds, "scope", func(context.Context) (*oauth2.Token, error) {
					fetches[i].Add(1)
					return &oauth2.Token{AccessToken: fmt.Sprint("tok-", i), Expiry: time.Now().Add(time.Hour)}, nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	extra := 0
	for i := range clients {
		extra += int(fetches[i].Load()) - 1
	}
	if extra != 0 {
		t.Errorf("%d extra token fetches for %d clients asking twice each", extra, clients)
	}
}

// TestTokenCachePrunesExpired: expired tokens are forgotten as new clients
// arrive, so a long-running process does not keep every secret it has seen.
func TestTokenCachePrunesExpired(t *testing.T) {
	t.Parallel()
	var c TokenCache
	for i := range 1000 {
		creds := equifax.Credentials{ClientID: fmt.Sprint("c", i), ClientSecret: credential.NewSecret("s")}
		c.Put(creds, "scope", &oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(-time.Minute)})
	}
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	if n > 256 {
		t.Errorf("%d entries kept of 1000 expired tokens", n)
	}
}
