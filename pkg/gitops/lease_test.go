package gitops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// contender is one run competing for the lease of r, as if on its own host.
func contender(t *testing.T, r *remoteRepo, host string, clock *fakeClock) *Leases {
	t.Helper()
	opts := LeaseOptions{URL: r.URL(), Hostname: host, Alive: func(int) bool { return true }}
	if clock != nil {
		opts.Now = clock.Now
	}
	l, err := NewLeases(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func holder(host, trace string) Holder {
	return Holder{Host: host, PID: 4242, StartedBy: "cron", TraceID: trace, Version: "test"}
}

// remoteLease is the commit the bare repository's lease ref points at, or "".
func (r *remoteRepo) remoteLease() string {
	r.t.Helper()
	out := runGit(r.t, r.bare, "for-each-ref", "--format=%(objectname)", LeaseRef)
	return out
}

func wantHeld(t *testing.T, err error, trace string) *HeldError {
	t.Helper()
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("got %v, want a HeldError", err)
	}
	if he.Holder.TraceID != trace {
		t.Fatalf("the error names trace %q, want %q: %v", he.Holder.TraceID, trace, err)
	}
	for _, want := range []string{trace, LeaseRef, he.Holder.Host, he.Holder.TakenAt.UTC().Format(time.RFC3339)} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("the error does not say %q: %v", want, err)
		}
	}
	return he
}

func TestLeaseAcquireRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRemote(t, baseFiles())
	clock := &fakeClock{t: fixedNow()}
	a, b := contender(t, r, "host-a", clock), contender(t, r, "host-b", clock)

	st, err := a.Read(ctx)
	if err != nil || st.Held {
		t.Fatalf("a fresh repository's lease: %+v, %v", st, err)
	}
	la, err := a.Acquire(ctx, holder("host-a", "trace-a"), 30*time.Minute)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if la.Previous != nil {
		t.Fatalf("a free lease was taken over from %v", la.Previous)
	}
	if got := r.remoteLease(); got != la.Commit() {
		t.Fatalf("remote lease at %q, want %s", got, la.Commit())
	}
	if want := fixedNow().Add(30*time.Minute + LeaseSlack); !la.Holder.ExpiresAt.Equal(want) || !la.Holder.Deadline.Equal(fixedNow().Add(30*time.Minute)) {
		t.Fatalf("holder %+v, want expiry %s", la.Holder, want)
	}
	// The branches are untouched: the lease is a ref of its own.
	if out := runGit(t, r.bare, "for-each-ref", "--format=%(refname)", "refs/heads"); out != "refs/heads/main" {
		t.Fatalf("branches after taking the lease: %q", out)
	}
	if msg := runGit(t, r.bare, "log", "-1", "--format=%s", LeaseRef); !strings.Contains(msg, "trace-a") || !strings.HasPrefix(msg, "credrotate lease: a cron run on host-a") {
		t.Fatalf("the lease commit's subject does not name the holder: %q", msg)
	}

	st, err = b.Read(ctx)
	if err != nil || !st.Held || st.Holder.TraceID != "trace-a" || st.Holder.Host != "host-a" || st.Holder.PID != 4242 || st.Holder.StartedBy != "cron" {
		t.Fatalf("Read by another run: %+v, %v", st, err)
	}
	_, err = b.Acquire(ctx, holder("host-b", "trace-b"), 30*time.Minute)
	if he := wantHeld(t, err, "trace-a"); he.Overdue {
		t.Fatalf("a fresh lease reported overdue: %v", err)
	}

	if err := la.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := r.remoteLease(); got != "" {
		t.Fatalf("the lease ref survived its release: %s", got)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatalf("a second Release: %v", err)
	}
	lb, err := b.Acquire(ctx, holder("host-b", "trace-b"), time.Minute)
	if err != nil {
		t.Fatalf("Acquire after the release: %v", err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseRace has several runs, each with its own view of the remote,
// race for the lease round after round: each round exactly one wins and
// every other one is told who won.
func TestLeaseRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRemote(t, baseFiles())
	const contenders, rounds = 3, 12
	ls := make([]*Leases, contenders)
	for i := range ls {
		ls[i] = contender(t, r, fmt.Sprintf("host-%d", i), nil)
	}
	wins := make([]int, contenders)
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		start := make(chan struct{})
		got := make([]*Lease, contenders)
		errs := make([]error, contenders)
		for i := range ls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got[i], errs[i] = ls[i].Acquire(ctx, holder(fmt.Sprintf("host-%d", i), fmt.Sprintf("trace-%d-%d", round, i)), 30*time.Minute)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, le := range got {
			if le == nil {
				continue
			}
			if winner >= 0 {
				t.Fatalf("round %d: both %d and %d hold the lease", round, winner, i)
			}
			winner = i
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody got the lease: %v", round, errs)
		}
		wins[winner]++
		if rl := r.remoteLease(); rl != got[winner].Commit() {
			t.Fatalf("round %d: the remote lease is %s, the winner's %s", round, rl, got[winner].Commit())
		}
		for i, err := range errs {
			if i != winner {
				wantHeld(t, err, got[winner].Holder.TraceID)
			}
		}
		if err := got[winner].Release(ctx); err != nil {
			t.Fatalf("round %d: release: %v", round, err)
		}
	}
	t.Logf("wins per contender over %d rounds: %v", rounds, wins)
}

func TestLeaseExpiryTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRemote(t, baseFiles())
	clock := &fakeClock{t: fixedNow()}
	a, b := contender(t, r, "host-a", clock), contender(t, r, "host-b", clock)
	la, err := a.Acquire(ctx, holder("host-a", "trace-a"), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(9 * time.Minute)
	if he := wantHeld(t, func() error { _, err := b.Acquire(ctx, holder("host-b", "trace-b"), 10*time.Minute); return err }(), "trace-a"); he.Overdue {
		t.Fatal("a lease within its deadline reported overdue")
	}
	// Past the holder's deadline but within the slack: a failure to report,
	// not a lease to take.
	clock.Advance(2 * time.Minute)
	_, err = b.Acquire(ctx, holder("host-b", "trace-b"), 10*time.Minute)
	he := wantHeld(t, err, "trace-a")
	if !he.Overdue || !strings.Contains(err.Error(), "past its run deadline") || !strings.Contains(err.Error(), "git push origin :"+LeaseRef) {
		t.Fatalf("an overdue lease: %v", err)
	}
	if st, _ := b.Read(ctx); !st.Overdue(clock.Now()) || st.Expired(clock.Now()) {
		t.Fatalf("state %+v at %s: want overdue, not expired", st, clock.Now())
	}

	clock.Advance(LeaseSlack)
	lb, err := b.Acquire(ctx, holder("host-b", "trace-b"), 10*time.Minute)
	if err != nil {
		t.Fatalf("taking over an expired lease: %v", err)
	}
	if lb.Previous == nil || lb.Previous.TraceID != "trace-a" || !strings.Contains(lb.TakeoverReason, "expired") {
		t.Fatalf("takeover: previous %+v, reason %q", lb.Previous, lb.TakeoverReason)
	}
	// The run that lost its lease finds out when it releases, and leaves
	// the new holder's lease alone.
	err = la.Release(ctx)
	if !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "trace-b") {
		t.Fatalf("releasing a lease taken over: %v", err)
	}
	if r.remoteLease() != lb.Commit() {
		t.Fatal("the old holder's release removed the new holder's lease")
	}
	if err := lb.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestLeaseTakeoverDeadProcess: a lease naming a process of this very host
// that no longer runs (a run killed with SIGKILL) is taken over at once; one
// whose process runs is not.
func TestLeaseTakeoverDeadProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newRemote(t, baseFiles())
	alive := true
	a := contender(t, r, "laptop", nil)
	b, err := NewLeases(LeaseOptions{URL: r.URL(), Hostname: "laptop", Alive: func(pid int) bool { return pid != 4242 || alive }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Acquire(ctx, holder("laptop", "trace-killed"), time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err = b.Acquire(ctx, Holder{Host: "laptop", PID: 4343, TraceID: "trace-next"}, time.Hour)
	wantHeld(t, err, "trace-killed")
	alive = false
	lb, err := b.Acquire(ctx, Holder{Host: "laptop", PID: 4343, TraceID: "trace-next"}, time.Hour)
	if err != nil {
		t.Fatalf("taking over a dead process's lease: %v", err)
	}
	if lb.Previous == nil || lb.Previous.TraceID != "trace-killed" || !strings.Contains(lb.TakeoverReason, "no longer runs") {
		t.Fatalf("takeover: %+v %q", lb.Previous, lb.TakeoverReason)
	}
	// A holder on another host is never judged by a local process.
	c := contender(t, r, "elsewhere", nil)
	c.opts.Alive = func(int) bool { return false }
	_, err = c.Acquire(ctx, holder("elsewhere", "trace-c"), time.Hour)
	wantHeld(t, err, "trace-next")
}

// TestLeaseCASLoses moves the ref between a run's read and its push: the
// push must fail and the run must report the lease's new holder.
func TestLeaseCASLoses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("create", func(t *testing.T) {
		t.Parallel()
		r := newRemote(t, baseFiles())
		a, b := contender(t, r, "host-a", nil), contender(t, r, "host-b", nil)
		a.beforePush = func() {
			a.beforePush = nil
			if _, err := b.Acquire(ctx, holder("host-b", "trace-b"), time.Hour); err != nil {
				t.Errorf("the racing run: %v", err)
			}
		}
		_, err := a.Acquire(ctx, holder("host-a", "trace-a"), time.Hour)
		wantHeld(t, err, "trace-b")
	})

	t.Run("takeover", func(t *testing.T) {
		t.Parallel()
		r := newRemote(t, baseFiles())
		clock := &fakeClock{t: fixedNow()}
		old, a, b := contender(t, r, "host-old", clock), contender(t, r, "host-a", clock), contender(t, r, "host-b", clock)
		if _, err := old.Acquire(ctx, holder("host-old", "trace-old"), time.Minute); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour)
		var lb *Lease
		a.beforePush = func() {
			a.beforePush = nil
			var err error
			if lb, err = b.Acquire(ctx, holder("host-b", "trace-b"), time.Hour); err != nil {
				t.Errorf("the racing run: %v", err)
			}
		}
		_, err := a.Acquire(ctx, holder("host-a", "trace-a"), time.Hour)
		wantHeld(t, err, "trace-b")
		if lb == nil || r.remoteLease() != lb.Commit() {
			t.Fatal("the lost takeover overwrote the winner's lease")
		}
	})

	t.Run("release", func(t *testing.T) {
		t.Parallel()
		r := newRemote(t, baseFiles())
		a := contender(t, r, "host-a", nil)
		la, err := a.Acquire(ctx, holder("host-a", "trace-a"), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// A person rewrites the ref (e.g. to another commit) while the run
		// holds it; the release must not delete what is there now.
		other := runGit(t, r.bare, "rev-parse", "main")
		runGit(t, r.bare, "update-ref", LeaseRef, other)
		err = la.Release(ctx)
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("release after the ref moved: %v", err)
		}
		if r.remoteLease() != other {
			t.Fatal("the release deleted a lease that was not its own")
		}
	})
}

func TestLeaseCorrupt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name, message string
		branch        bool
		want          string
	}{
		{name: "a branch commit", branch: true, want: "does not start with"},
		{name: "no holder", message: "credrotate lease: someone", want: "no holder"},
		{name: "bad json", message: "credrotate lease: x\n\n{\"host\": ", want: "not valid JSON"},
		{name: "missing fields", message: "credrotate lease: x\n\n{\"host\":\"h\"}", want: "lacks deadline, expiresAt, takenAt, traceId"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRemote(t, baseFiles())
			target := runGit(t, r.bare, "rev-parse", "main")
			if !tc.branch {
				tree := runGit(t, r.bare, "hash-object", "-t", "tree", "-w", "/dev/null")
				target = runGit(t, r.bare, "commit-tree", tree, "-m", tc.message)
			}
			runGit(t, r.bare, "update-ref", LeaseRef, target)
			l := contender(t, r, "host", nil)
			st, err := l.Read(ctx)
			if !errors.Is(err, ErrLeaseCorrupt) || !st.Held || st.Commit != target {
				t.Fatalf("Read: %+v, %v", st, err)
			}
			for _, want := range []string{tc.want, LeaseRef, "git push origin :" + LeaseRef, target[:12]} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q: %v", want, err)
				}
			}
			if _, err := l.Acquire(ctx, holder("host", "t"), time.Hour); !errors.Is(err, ErrLeaseCorrupt) {
				t.Fatalf("Acquire over a corrupt lease: %v", err)
			}
			if r.remoteLease() != target {
				t.Fatal("Acquire changed a corrupt lease")
			}
		})
	}
}

func TestLeaseOptions(t *testing.T) {
	t.Parallel()
	for _, ref := range []string{"refs/heads/lease", "refs/tags/lease", "lease", "refs/credrotate/bad..ref"} {
		if _, err := NewLeases(LeaseOptions{URL: "file:///nonexistent", Ref: ref}); err == nil || !strings.Contains(err.Error(), "lease ref") {
			t.Errorf("ref %q: %v", ref, err)
		}
	}
	if _, err := NewLeases(LeaseOptions{}); err == nil || !strings.Contains(err.Error(), "git.url") {
		t.Errorf("no url: %v", err)
	}
	r := newRemote(t, baseFiles())
	if _, err := contender(t, r, "h", nil).Acquire(context.Background(), holder("h", "t"), 0); err == nil {
		t.Error("a zero run timeout was accepted")
	}
}

func TestHolderString(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		h    Holder
		want string
	}{
		{Holder{Host: "pod-1", PID: 1, StartedBy: "cron", TraceID: "t1", TakenAt: at}, "a cron run on pod-1 (pid 1, trace t1) since 2026-12-02T04:00:00Z"},
		{Holder{Host: "laptop", PID: 9, StartedBy: "manual", TraceID: "t2", TakenAt: at}, "a manual run on laptop (pid 9, trace t2) since 2026-12-02T04:00:00Z"},
		{Holder{Host: "runner", PID: 3, StartedBy: "actions", Run: "https://github.com/a/b/actions/runs/7", TraceID: "t3", TakenAt: at},
			"a GitHub Actions run on runner (pid 3, trace t3, https://github.com/a/b/actions/runs/7) since 2026-12-02T04:00:00Z"},
		{Holder{TakenAt: at}, "a credrotate run on (unknown) (pid 0, trace (unknown)) since 2026-12-02T04:00:00Z"},
	} {
		if got := tc.h.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// FuzzParseLeaseMessage: a lease commit comes from the remote, so its
// message is outside input: it never panics, and what it accepts holds a
// trace id and times in order and survives a round trip.
func FuzzParseLeaseMessage(f *testing.F) {
	h := holder("pod-1", "trace-1")
	h.TakenAt = fixedNow()
	h.Deadline = h.TakenAt.Add(time.Minute)
	h.ExpiresAt = h.Deadline.Add(LeaseSlack)
	good, err := leaseMessage(h)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "credrotate lease: x", "credrotate lease: x\n\n{}", "credrotate lease: x\n\n[1,2]", "credrotate lease: x\n\n{\"traceId\":\"t\",\"takenAt\":\"2026-01-01T00:00:00Z\",\"deadline\":\"2025-01-01T00:00:00Z\",\"expiresAt\":\"2027-01-01T00:00:00Z\"}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		h, err := parseLeaseMessage(msg)
		if err != nil {
			return
		}
		if h.TraceID == "" || h.Deadline.Before(h.TakenAt) || h.ExpiresAt.Before(h.TakenAt) {
			t.Fatalf("accepted %+v", h)
		}
		again, err := leaseMessage(h)
		if err != nil {
			t.Fatal(err)
		}
		h2, err := parseLeaseMessage(again)
		if err != nil || h2.TraceID != h.TraceID || !h2.ExpiresAt.Equal(h.ExpiresAt) {
			t.Fatalf("round trip: %+v, %v", h2, err)
		}
	})
}
