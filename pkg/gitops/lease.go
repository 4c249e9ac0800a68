package gitops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// The run lease is a ref on the GitOps remote itself, so that runs against
// one repository never overlap, whatever machine they start on (a CronJob
// pod, a GitHub Actions job, a person at a laptop), with no infrastructure
// beyond the repository. The ref points at a parentless commit with an empty
// tree whose message names the holder. It is taken and released by
// compare-and-swap pushes: created only if absent, replaced only when it
// still points at the stale lease that was read, deleted only while it
// still points at this run's lease. The git server checks the expected old
// value under its ref lock, so of two runs racing for the lease exactly one
// push succeeds.

// LeaseRef is the ref on the remote that holds the run lease. It is outside
// refs/heads, so no branch list, pull request or checkout shows it; clear a
// stuck one with `git push origin :refs/credrotate/lease`.
const LeaseRef = "refs/credrotate/lease"

// LeaseSlack is how long after its holder's run deadline a lease expires.
// A run is cancelled at its deadline and releases the lease on its way out;
// the slack covers that release and clocks that disagree a little. Between
// the deadline and the expiry the lease is overdue: another run reports it
// as a failure instead of taking it over.
const LeaseSlack = 5 * time.Minute

// maxLeaseMessage bounds the lease commit that Read decodes.
const maxLeaseMessage = 16 << 10

// leaseSubject starts the message of every lease commit.
const leaseSubject = "credrotate lease: "

// Local refs of the lease's scratch repository.
const (
	observedLeaseRef = plumbing.ReferenceName("refs/credrotate/observed")
	newLeaseRef      = plumbing.ReferenceName("refs/credrotate/new")
)

// maxLeaseAttempts bounds Acquire's read-and-push rounds when the ref keeps
// moving under it.
const maxLeaseAttempts = 3

var (
	// ErrLeaseHeld reports that another run holds the lease; the error is a
	// *HeldError that names it.
	ErrLeaseHeld = errors.New("another credrotate run holds the lease")
	// ErrLeaseCorrupt reports a lease ref that does not point at a
	// credrotate lease.
	ErrLeaseCorrupt = errors.New("the lease ref does not hold a credrotate lease")
	// ErrLeaseLost reports that the lease was taken over or cleared while
	// this run held it.
	ErrLeaseLost = errors.New("the run lease is no longer this run's")
)

// Holder names the run that holds, or asks for, the lease.
type Holder struct {
	// Host is the machine or pod name (os.Hostname).
	Host string `json:"host"`
	// PID is the holder's process id on Host.
	PID int `json:"pid"`
	// StartedBy says how the run started: cron, manual or actions.
	StartedBy string `json:"startedBy"`
	// Run optionally points at the run, e.g. a GitHub Actions run URL.
	Run string `json:"run,omitempty"`
	// TraceID is the run's trace id, as in its logs and pull requests.
	TraceID string `json:"traceId"`
	// Version is the holder's credrotate version.
	Version string `json:"version,omitempty"`
	// TakenAt is when the lease was taken, Deadline when the holder's run is
	// cancelled, ExpiresAt (Deadline + LeaseSlack) when another run may take
	// the lease over. Acquire sets all three.
	TakenAt   time.Time `json:"takenAt"`
	Deadline  time.Time `json:"deadline"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// String names the holder for a person: "a cron run on host-1 (pid 42,
// trace 4bf9…) since 2026-12-02T04:00:00Z"; an Actions run says "a GitHub
// Actions run" and adds its URL.
func (h Holder) String() string {
	var by string
	switch h.StartedBy {
	case "":
		by = "a credrotate run"
	case "actions":
		by = "a GitHub Actions run"
	default:
		by = "a " + h.StartedBy + " run"
	}
	s := fmt.Sprintf("%s on %s (pid %d, trace %s", by, orNone(h.Host), h.PID, orNone(h.TraceID))
	if h.Run != "" {
		s += ", " + h.Run
	}
	return s + ") since " + h.TakenAt.UTC().Format(time.RFC3339)
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// LeaseOptions configure Leases. URL and the credentials are those of the
// workspace (Options).
type LeaseOptions struct {
	URL            string
	Token          string
	SSHKeyFile     string
	KnownHostsFile string
	// Ref is the lease ref (default LeaseRef).
	Ref string
	// Timeout bounds every network step (default DefaultPushTimeout).
	Timeout time.Duration
	// Author signs the lease commits.
	Author Signature
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Hostname is this machine's name, compared with a holder's Host to
	// tell whether its process can be checked (default os.Hostname()).
	Hostname string
	// Alive reports whether a process of this host still runs (default: a
	// signal-0 probe).
	Alive func(pid int) bool
}

// Leases reads, takes and releases the run lease of one remote. It keeps a
// small in-memory repository of its own, independent of any Workspace, so a
// run can hold the lease before it clones. It is not safe for concurrent
// use: each contender needs its own.
type Leases struct {
	opts  LeaseOptions
	ref   plumbing.ReferenceName
	repo  *git.Repository
	auth  transport.AuthMethod
	scrub func(string) string
	// beforePush, when set (tests only), runs between reading the lease and
	// the compare-and-swap push that takes it.
	beforePush func()
}

// NewLeases prepares the lease of the remote at opts.URL; it does not
// contact the remote.
func NewLeases(opts LeaseOptions) (*Leases, error) {
	if opts.URL == "" {
		return nil, errors.New("git url is empty: set git.url")
	}
	if opts.Ref == "" {
		opts.Ref = LeaseRef
	}
	ref := plumbing.ReferenceName(opts.Ref)
	if err := ref.Validate(); err != nil || !strings.HasPrefix(opts.Ref, "refs/") || ref.IsBranch() || ref.IsTag() {
		return nil, fmt.Errorf("lease ref %q must be a ref outside refs/heads and refs/tags, such as %s", opts.Ref, LeaseRef)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultPushTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Author.Name == "" {
		opts.Author.Name = DefaultAuthorName
	}
	if opts.Author.Email == "" {
		opts.Author.Email = DefaultAuthorEmail
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Alive == nil {
		opts.Alive = processAlive
	}
	auth, err := authMethod(Options{URL: opts.URL, Token: opts.Token, SSHKeyFile: opts.SSHKeyFile, KnownHostsFile: opts.KnownHostsFile})
	if err != nil {
		return nil, err
	}
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return nil, fmt.Errorf("preparing the lease repository: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{opts.URL}}); err != nil {
		return nil, fmt.Errorf("preparing the lease repository: %w", err)
	}
	return &Leases{opts: opts, ref: ref, repo: repo, auth: auth, scrub: newScrubber(opts.URL, opts.Token)}, nil
}

// LeaseState is what the remote's lease ref says.
type LeaseState struct {
	// Held is false when the ref does not exist: the lease is free.
	Held bool `json:"held"`
	// Holder is the run named by the lease (zero when free or corrupt).
	Holder Holder `json:"holder,omitzero"`
	// Commit is the commit the ref points at.
	Commit string `json:"commit,omitempty"`
}

// Expired reports whether the lease is held but past its expiry at now.
func (s LeaseState) Expired(now time.Time) bool {
	return s.Held && !s.Holder.ExpiresAt.IsZero() && !now.Before(s.Holder.ExpiresAt)
}

// Overdue reports whether the lease is held past its holder's run deadline
// at now but has not expired yet.
func (s LeaseState) Overdue(now time.Time) bool {
	return s.Held && !s.Holder.Deadline.IsZero() && !now.Before(s.Holder.Deadline) && !s.Expired(now)
}

// Read fetches the lease ref and decodes it. A ref that does not hold a
// credrotate lease gives an error matching ErrLeaseCorrupt, with the state's
// Held and Commit set.
func (l *Leases) Read(ctx context.Context) (LeaseState, error) {
	h, found, err := l.fetch(ctx)
	if err != nil || !found {
		return LeaseState{}, err
	}
	st := LeaseState{Held: true, Commit: h.String()}
	holder, err := l.decode(h)
	if err != nil {
		return st, fmt.Errorf("the run lease %s on %s points at commit %s: %w: %v; if no credrotate run is active, delete it with `git push origin :%s`",
			l.ref, RedactURL(l.opts.URL), short(h), ErrLeaseCorrupt, err, l.ref)
	}
	st.Holder = holder
	return st, nil
}

// HeldError reports that another run holds the lease.
type HeldError struct {
	// Ref and URL name the lease.
	Ref, URL string
	// Holder is the run that holds it.
	Holder Holder
	// Overdue says the holder has run past its deadline but the lease has
	// not expired yet: the holder may be stuck, which is a failure.
	Overdue bool
	// Now is when the lease was read.
	Now time.Time
}

func (e *HeldError) Error() string {
	if e.Overdue {
		return fmt.Sprintf("the run lease %s on %s is held by %s, past its run deadline %s (it has run for %s): that run is stuck or was stopped without releasing it; "+
			"the next run takes the lease over after %s; if no credrotate run is active, clear it now with `git push origin :%s`",
			e.Ref, e.URL, e.Holder, e.Holder.Deadline.UTC().Format(time.RFC3339), e.Now.Sub(e.Holder.TakenAt).Round(time.Second),
			e.Holder.ExpiresAt.UTC().Format(time.RFC3339), e.Ref)
	}
	return fmt.Sprintf("another credrotate run holds the lease %s on %s: %s, until %s at the latest",
		e.Ref, e.URL, e.Holder, e.Holder.ExpiresAt.UTC().Format(time.RFC3339))
}

// Is matches ErrLeaseHeld.
func (e *HeldError) Is(target error) bool { return target == ErrLeaseHeld }

// Lease is a lease this run holds.
type Lease struct {
	l    *Leases
	hash plumbing.Hash
	// Holder is this run, as the lease names it.
	Holder Holder
	// Previous is the holder of the stale lease this one replaced: a run
	// that did not finish. Nil when the lease was free.
	Previous *Holder
	// TakeoverReason says why the previous lease was stale.
	TakeoverReason string
	released       bool
}

// Commit is the lease commit the ref points at.
func (le *Lease) Commit() string { return le.hash.String() }

// Acquire takes the lease for h, a run whose deadline is runTimeout from
// now: it sets h's TakenAt, Deadline and ExpiresAt. A free lease is created;
// a stale one (past its expiry, or naming a process of this host that no
// longer runs) is replaced, and Lease.Previous names it; a live one gives a
// *HeldError (errors.Is ErrLeaseHeld). Every write is a compare-and-swap on
// the value read, so a race has one winner and the others get the winner
// in their HeldError.
//
// The lease is usually free, so the first round does not read it: it pushes
// a create, which the server refuses if the ref exists; only then is the
// lease read and judged. That first round is not one of the
// maxLeaseAttempts.
func (l *Leases) Acquire(ctx context.Context, h Holder, runTimeout time.Duration) (*Lease, error) {
	if runTimeout <= 0 {
		return nil, fmt.Errorf("taking the run lease: the run timeout %s must be positive", runTimeout)
	}
	var (
		cur LeaseState // assumed free until read
		err error
	)
	for attempt := 0; ; attempt++ {
		if err != nil {
			return nil, err
		}
		le := &Lease{l: l}
		now := l.opts.Now().UTC()
		if cur.Held {
			why, stale := l.stale(cur.Holder, now)
			if !stale {
				return nil, &HeldError{Ref: string(l.ref), URL: RedactURL(l.opts.URL), Holder: cur.Holder, Overdue: cur.Overdue(now), Now: now}
			}
			prev := cur.Holder
			le.Previous, le.TakeoverReason = &prev, why
		}
		h.TakenAt = now.Truncate(time.Second)
		h.Deadline = h.TakenAt.Add(runTimeout)
		h.ExpiresAt = h.Deadline.Add(LeaseSlack)
		le.Holder = h
		if le.hash, err = l.writeCommit(h); err != nil {
			return nil, err
		}
		perr := l.pushLease(ctx, cur)
		if perr == nil {
			return le, nil
		}
		after, rerr := l.Read(ctx)
		switch {
		case rerr == nil && after.Commit == le.hash.String():
			// The push landed but its answer was lost.
			return le, nil
		case rerr == nil && attempt > 0 && after.Commit == cur.Commit, attempt >= maxLeaseAttempts:
			// Nothing moved: the push failed for a reason of its own. (After
			// the unread first round a free lease may have been held and
			// released meanwhile: that round is tried again, read.)
			return nil, fmt.Errorf("taking the run lease %s on %s: %w", l.ref, RedactURL(l.opts.URL), perr)
		}
		// Someone else wrote the ref meanwhile: judge what is there now.
		cur, err = after, rerr
	}
}

// Release deletes the lease if it is still this run's. Call it on every exit
// path, with a context that outlives the run's own (the run may have been
// cancelled at its deadline). A lease taken over or cleared meanwhile gives
// an error matching ErrLeaseLost. Releasing twice is a no-op.
func (le *Lease) Release(ctx context.Context) error {
	if le == nil || le.released {
		return nil
	}
	l := le.l
	err := l.push(ctx, "releasing the run lease",
		config.RefSpec(":"+string(l.ref)),
		[]config.RefSpec{config.RefSpec(le.hash.String() + ":" + string(l.ref))})
	if err == nil {
		le.released = true
		return nil
	}
	after, rerr := l.Read(ctx)
	if after.Commit != le.hash.String() && (rerr == nil || errors.Is(rerr, ErrLeaseCorrupt)) {
		le.released = true
		if !after.Held {
			return fmt.Errorf("releasing the run lease %s: %w: it was cleared while this run held it", l.ref, ErrLeaseLost)
		}
		if rerr != nil {
			return fmt.Errorf("releasing the run lease %s: %w: the ref was rewritten while this run held it (%v)", l.ref, ErrLeaseLost, rerr)
		}
		return fmt.Errorf("releasing the run lease %s: %w: %s took it over", l.ref, ErrLeaseLost, after.Holder)
	}
	return err
}

// stale reports whether a held lease may be taken over at now, and why.
func (l *Leases) stale(h Holder, now time.Time) (string, bool) {
	if !now.Before(h.ExpiresAt) {
		return fmt.Sprintf("it expired at %s", h.ExpiresAt.UTC().Format(time.RFC3339)), true
	}
	if h.Host != "" && h.Host == l.opts.Hostname && h.PID > 0 {
		if h.PID == os.Getpid() {
			return fmt.Sprintf("its process %d on this host ended (this process has its pid now)", h.PID), true
		}
		if !l.opts.Alive(h.PID) {
			return fmt.Sprintf("its process %d on this host (%s) no longer runs", h.PID, h.Host), true
		}
	}
	return "", false
}

// processAlive probes pid with signal 0: no such process means it ended;
// a permission error means it runs as another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// fetch brings the lease commit into the scratch repository and returns it;
// found is false when the remote has no lease ref.
func (l *Leases) fetch(ctx context.Context) (plumbing.Hash, bool, error) {
	spec := config.RefSpec("+" + string(l.ref) + ":" + string(observedLeaseRef))
	cctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	err := l.repo.FetchContext(cctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		// A lease commit has no parent; a ref pointed at a branch by mistake
		// must not download its history.
		Depth: 1,
		Auth:  l.auth,
		Tags:  git.NoTags,
		Force: true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if isNoMatchingRef(err) {
			_ = l.repo.Storer.RemoveReference(observedLeaseRef)
			return plumbing.ZeroHash, false, nil
		}
		return plumbing.ZeroHash, false, l.wrap(ctx, cctx, "reading the run lease "+string(l.ref), err)
	}
	ref, err := l.repo.Storer.Reference(observedLeaseRef)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("reading the fetched run lease: %w", err)
	}
	return ref.Hash(), true, nil
}

// decode reads the holder from a lease commit.
func (l *Leases) decode(h plumbing.Hash) (Holder, error) {
	obj, err := l.repo.Storer.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return Holder{}, fmt.Errorf("reading the commit: %w", err)
	}
	if obj.Type() != plumbing.CommitObject {
		return Holder{}, fmt.Errorf("it is a %s, not a commit", obj.Type())
	}
	if obj.Size() > maxLeaseMessage {
		return Holder{}, fmt.Errorf("the commit is %d bytes, more than a lease's %d", obj.Size(), maxLeaseMessage)
	}
	c, err := object.DecodeCommit(l.repo.Storer, obj)
	if err != nil {
		return Holder{}, fmt.Errorf("decoding the commit: %w", err)
	}
	return parseLeaseMessage(c.Message)
}

// leaseMessage is the message of a lease commit: a subject a person can
// read in `git log refs/credrotate/lease`, and the holder as JSON.
func leaseMessage(h Holder) (string, error) {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encoding the lease: %w", err)
	}
	return leaseSubject + h.String() + ", until " + h.ExpiresAt.UTC().Format(time.RFC3339) + "\n\n" + string(b) + "\n", nil
}

func parseLeaseMessage(msg string) (Holder, error) {
	if !strings.HasPrefix(msg, leaseSubject) {
		return Holder{}, fmt.Errorf("its message does not start with %q", strings.TrimSpace(leaseSubject))
	}
	_, body, ok := strings.Cut(msg, "\n\n")
	if !ok {
		return Holder{}, errors.New("its message has no holder")
	}
	var h Holder
	dec := json.NewDecoder(strings.NewReader(body))
	if err := dec.Decode(&h); err != nil {
		return Holder{}, fmt.Errorf("its holder is not valid JSON: %w", err)
	}
	var missing []string
	for name, zero := range map[string]bool{"traceId": h.TraceID == "", "takenAt": h.TakenAt.IsZero(), "deadline": h.Deadline.IsZero(), "expiresAt": h.ExpiresAt.IsZero()} {
		if zero {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return Holder{}, fmt.Errorf("its holder lacks %s", strings.Join(sortedUnique(missing), ", "))
	}
	if h.ExpiresAt.Before(h.TakenAt) || h.Deadline.Before(h.TakenAt) {
		return Holder{}, errors.New("its holder expires before it was taken")
	}
	return h, nil
}

// writeCommit stores a parentless lease commit with an empty tree.
func (l *Leases) writeCommit(h Holder) (plumbing.Hash, error) {
	st := l.repo.Storer
	treeObj := st.NewEncodedObject()
	if err := (&object.Tree{}).Encode(treeObj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the lease: %w", err)
	}
	tree, err := st.SetEncodedObject(treeObj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the lease: %w", err)
	}
	msg, err := leaseMessage(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	sig := object.Signature{Name: l.opts.Author.Name, Email: l.opts.Author.Email, When: h.TakenAt}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the lease: %w", err)
	}
	hash, err := st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the lease: %w", err)
	}
	if err := st.SetReference(plumbing.NewHashReference(newLeaseRef, hash)); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the lease: %w", err)
	}
	return hash, nil
}

// pushLease points the remote ref at the new lease commit: a create when cur is free (the
// server refuses it if the ref exists by then), otherwise a replace that the
// server accepts only while the ref still points at cur.Commit.
func (l *Leases) pushLease(ctx context.Context, cur LeaseState) error {
	if l.beforePush != nil {
		l.beforePush()
	}
	if !cur.Held {
		return l.push(ctx, "taking the run lease", config.RefSpec(string(newLeaseRef)+":"+string(l.ref)), nil)
	}
	return l.push(ctx, "taking over the run lease",
		config.RefSpec("+"+string(newLeaseRef)+":"+string(l.ref)),
		[]config.RefSpec{config.RefSpec(cur.Commit + ":" + string(l.ref))})
}

// push sends one refspec. require pins the remote ref's current value:
// go-git checks it against the refs the server advertised in this very push
// session and sends it as the command's old value, which the server checks
// again under its ref lock.
func (l *Leases) push(ctx context.Context, what string, spec config.RefSpec, require []config.RefSpec) error {
	pctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	err := l.repo.PushContext(pctx, &git.PushOptions{
		RemoteName:        remoteName,
		RefSpecs:          []config.RefSpec{spec},
		RequireRemoteRefs: require,
		Auth:              l.auth,
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return l.wrap(ctx, pctx, what, err)
}

// wrap is Workspace.wrap for the lease: it names a timeout as such and
// keeps credentials out of the text.
func (l *Leases) wrap(parent, op context.Context, what string, err error) error {
	return (&Workspace{scrub: l.scrub}).wrap(parent, op, what, err)
}
