package gitops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/gitops"
)

// TestLocalhubLease takes, contests and releases the lease over git smart
// HTTP (localhub's real git http-backend) with a token, as against GitHub.
func TestLocalhubLease(t *testing.T) {
	hub, url := newLocalhub(t)
	ctx := context.Background()
	newLeases := func(host, tok string) *gitops.Leases {
		l, err := gitops.NewLeases(gitops.LeaseOptions{URL: url, Token: tok, Hostname: host})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := newLeases("pod-a", token), newLeases("pod-b", token)
	main := hub.BranchSHA(ctx, "main")
	before := hub.Calls().GitRequests
	la, err := a.Acquire(ctx, gitops.Holder{Host: "pod-a", PID: 1, StartedBy: "cron", TraceID: "trace-a"}, 30*time.Minute)
	if err != nil {
		t.Fatalf("Acquire over HTTP: %v", err)
	}
	// A free lease is taken in one push exchange (its ref advertisement and
	// the receive-pack), without reading it first.
	if n := hub.Calls().GitRequests - before; n != 2 {
		t.Errorf("taking a free lease made %d git HTTP requests, want 2", n)
	}
	st, err := b.Read(ctx)
	if err != nil || !st.Held || st.Holder.TraceID != "trace-a" || st.Commit != la.Commit() {
		t.Fatalf("Read over HTTP: %+v, %v", st, err)
	}
	_, err = b.Acquire(ctx, gitops.Holder{Host: "pod-b", PID: 1, StartedBy: "actions", TraceID: "trace-b"}, 30*time.Minute)
	var he *gitops.HeldError
	if !errors.As(err, &he) || he.Holder.TraceID != "trace-a" || !strings.Contains(err.Error(), "pod-a") {
		t.Fatalf("a second run: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("Release over HTTP: %v", err)
	}
	t.Logf("git HTTP requests to take, contest and release the lease: %d", hub.Calls().GitRequests-before)
	if st, err := b.Read(ctx); err != nil || st.Held {
		t.Fatalf("after the release: %+v, %v", st, err)
	}
	if hub.BranchSHA(ctx, "main") != main {
		t.Fatal("the lease moved main")
	}
	// localhub tells lease pushes from branch pushes.
	if c := hub.Calls(); c.GitPushes != 0 || c.OtherRefPushes != 2 {
		t.Fatalf("%d branch pushes and %d other pushes, want 0 and 2 (take, release)", c.GitPushes, c.OtherRefPushes)
	}

	// Reading is anonymous, as a fetch is; writing needs the token, and a
	// wrong one never shows up in the error.
	w := newLeases("pod-c", "ghp_wrongtoken")
	_, err = w.Acquire(ctx, gitops.Holder{Host: "pod-c", TraceID: "trace-c"}, time.Minute)
	if err == nil || errors.Is(err, gitops.ErrLeaseHeld) {
		t.Fatalf("Acquire with a wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "ghp_wrongtoken") {
		t.Fatalf("the error leaks the token: %v", err)
	}
}
