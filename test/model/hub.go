package model

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/credrotate/credrotate/pkg/forge"
	"github.com/credrotate/credrotate/pkg/gitops"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// Checks is the state of the required checks of every pull request head.
type Checks string

// The check states.
const (
	ChecksSuccess Checks = "success"
	ChecksPending Checks = "pending"
	ChecksFailure Checks = "failure"
)

// pull is one pull request.
type pull struct {
	num          int
	branch, base string
	head         plumbing.Hash // last known head (the branch tip while open)
	title, body  string
	open         bool
	merged       bool
	mergedAt     time.Time
	mergeSHA     plumbing.Hash
	labels       []string
	autoMerge    bool
	comments     []string
	closedBy     string
	createdAt    time.Time
}

// alertIssue is one alert issue.
type alertIssue struct {
	num      int
	key      string
	title    string
	body     string
	open     bool
	comments []string
	opened   time.Time
}

// hub is GitHub as credrotate uses it, in process, over the world's bare
// repository: pull requests that join real branches, squash merges that
// really move the base branch (a three-way merge, conflicts included),
// auto-merge gated by the required checks, and alert issues. It implements
// rotate.Forge; every call is an event of the run that makes it.
type hub struct {
	repo   *bareRepo
	now    func() time.Time
	checks Checks
	pulls  []*pull
	issues []*alertIssue
	next   int
	// failNext makes the next API calls fail, as GitHub's bad days do.
	failNext int
}

var _ rotate.Forge = (*hub)(nil)

func newHub(repo *bareRepo, now func() time.Time) *hub {
	return &hub{repo: repo, now: now, checks: ChecksSuccess, next: 1}
}

// clone copies the hub's state onto another repository.
func (h *hub) clone(repo *bareRepo, now func() time.Time) *hub {
	c := &hub{repo: repo, now: now, checks: h.checks, next: h.next}
	for _, p := range h.pulls {
		np := *p
		np.labels = append([]string(nil), p.labels...)
		np.comments = append([]string(nil), p.comments...)
		c.pulls = append(c.pulls, &np)
	}
	for _, is := range h.issues {
		ni := *is
		ni.comments = append([]string(nil), is.comments...)
		c.issues = append(c.issues, &ni)
	}
	return c
}

func (h *hub) url(n int) string { return fmt.Sprintf("https://github.example/acme/gitops/pull/%d", n) }

func (h *hub) toPR(p *pull) forge.PR {
	if p.open {
		if tip, ok := h.repo.branch(p.branch); ok {
			p.head = tip
		}
	}
	pr := forge.PR{
		Number: p.num, URL: h.url(p.num), NodeID: fmt.Sprintf("PR_%d", p.num),
		Branch: p.branch, Base: p.base, HeadSHA: p.head.String(), Title: p.title, Body: p.body,
		State: "closed", Merged: p.merged, MergedAt: p.mergedAt, AutoMerge: p.autoMerge && p.open,
		Labels: append([]string(nil), p.labels...),
	}
	if p.open {
		pr.State = "open"
	}
	if p.merged {
		pr.MergeCommitSHA = p.mergeSHA.String()
	}
	return pr
}

func (h *hub) pull(n int) *pull {
	for _, p := range h.pulls {
		if p.num == n {
			return p
		}
	}
	return nil
}

// mergeable reports whether p's head merges into its base without conflict.
func (h *hub) mergeable(p *pull) bool {
	base, ok1 := h.repo.branch(p.base)
	head, ok2 := h.repo.branch(p.branch)
	if !ok1 || !ok2 {
		return false
	}
	_, err := h.repo.mergeFiles(base, head)
	return err == nil
}

// merge squashes p onto its base.
func (h *hub) merge(p *pull) error {
	base, ok1 := h.repo.branch(p.base)
	head, ok2 := h.repo.branch(p.branch)
	if !ok1 || !ok2 {
		return fmt.Errorf("merging #%d: %w: a branch is gone", p.num, forge.ErrNotMergeable)
	}
	files, err := h.repo.mergeFiles(base, head)
	if err != nil {
		return fmt.Errorf("merging #%d: %w: %v", p.num, forge.ErrNotMergeable, err)
	}
	sha, err := h.repo.commit(files, p.title+fmt.Sprintf(" (#%d)", p.num), h.now(), base)
	if err != nil {
		return err
	}
	h.repo.setBranch(p.base, sha)
	p.head, p.open, p.merged, p.mergedAt, p.mergeSHA = head, false, true, h.now(), sha
	return nil
}

// autoMerge merges every open pull request with auto-merge enabled whose
// checks pass, as GitHub does in the background.
func (h *hub) autoMerge() {
	if h.checks != ChecksSuccess {
		return
	}
	for _, p := range h.pulls {
		if p.open && p.autoMerge && h.mergeable(p) {
			_ = h.merge(p)
		}
	}
}

// call makes one API call an event of the run in ctx.
func (h *hub) call(ctx context.Context, name string, fn func() error) error {
	return ctlFrom(ctx).do(GitHub, name, func() error {
		if h.failNext > 0 {
			h.failNext--
			return fmt.Errorf("%s: 502 Bad Gateway (a scripted fault)", name)
		}
		h.autoMerge()
		return fn()
	})
}

// ListOpenPRs implements rotate.Forge.
func (h *hub) ListOpenPRs(ctx context.Context, prefix string) ([]forge.PR, error) {
	var out []forge.PR
	err := h.call(ctx, "list pull requests", func() error {
		for _, p := range h.pulls {
			if p.open && strings.HasPrefix(p.branch, prefix) {
				out = append(out, h.toPR(p))
			}
		}
		return nil
	})
	return out, err
}

// EnsurePR implements rotate.Forge: find or create the branch's pull
// request (an event), then label it (another event).
func (h *hub) EnsurePR(ctx context.Context, spec forge.PRSpec) (forge.PR, bool, error) {
	var p *pull
	created := false
	err := h.call(ctx, "create pull request", func() error {
		for _, q := range h.pulls {
			if q.open && q.branch == spec.Branch {
				p = q
			}
		}
		if p != nil {
			p.title, p.body, p.base = spec.Title, spec.Body, spec.Base
			return nil
		}
		head, ok := h.repo.branch(spec.Branch)
		base, ok2 := h.repo.branch(spec.Base)
		if !ok || !ok2 {
			return fmt.Errorf("creating pull request for %s: 422 Validation Failed: head or base does not exist", spec.Branch)
		}
		if head == base || isAncestor(h.repo, head, base) {
			return fmt.Errorf("creating pull request for %s: 422 Validation Failed: No commits between %s and %s", spec.Branch, spec.Base, spec.Branch)
		}
		p = &pull{num: h.next, branch: spec.Branch, base: spec.Base, head: head, title: spec.Title, body: spec.Body, open: true, createdAt: h.now()}
		h.next++
		h.pulls = append(h.pulls, p)
		created = true
		return nil
	})
	if err != nil {
		return forge.PR{}, false, err
	}
	if len(spec.Labels) > 0 {
		err = h.call(ctx, "label pull request", func() error {
			for _, l := range spec.Labels {
				if !contains(p.labels, l) {
					p.labels = append(p.labels, l)
				}
			}
			return nil
		})
		if err != nil {
			return forge.PR{}, false, err
		}
	}
	return h.toPR(p), created, nil
}

// EnableAutoMerge implements rotate.Forge. GitHub merges at once when the
// checks have passed.
func (h *hub) EnableAutoMerge(ctx context.Context, pr forge.PR, method string) (bool, error) {
	merged := false
	err := h.call(ctx, "enable auto-merge", func() error {
		p := h.pull(pr.Number)
		switch {
		case p == nil:
			return fmt.Errorf("enabling auto-merge on #%d: %w", pr.Number, forge.ErrNotFound)
		case !p.open:
			return fmt.Errorf("enabling auto-merge on #%d: %w: it is closed", pr.Number, forge.ErrNotMergeable)
		}
		if tip, ok := h.repo.branch(p.branch); ok && pr.HeadSHA != "" && tip.String() != pr.HeadSHA {
			return fmt.Errorf("enabling auto-merge on #%d: %w", pr.Number, forge.ErrHeadMoved)
		}
		p.autoMerge = true
		h.autoMerge()
		merged = p.merged
		return nil
	})
	return merged, err
}

// MergeIfGreen implements rotate.Forge.
func (h *hub) MergeIfGreen(ctx context.Context, pr forge.PR, method string) (bool, error) {
	merged := false
	err := h.call(ctx, "merge pull request", func() error {
		p := h.pull(pr.Number)
		switch {
		case p == nil:
			return fmt.Errorf("merging #%d: %w", pr.Number, forge.ErrNotFound)
		case p.merged:
			merged = true
			return nil
		case !p.open:
			return fmt.Errorf("merging #%d: %w: it is closed", pr.Number, forge.ErrNotMergeable)
		case h.checks == ChecksPending:
			return nil
		case h.checks == ChecksFailure:
			return fmt.Errorf("merging #%d: %w", pr.Number, forge.ErrChecksFailed)
		}
		if err := h.merge(p); err != nil {
			return err
		}
		merged = true
		return nil
	})
	return merged, err
}

// ClosePR implements rotate.Forge.
func (h *hub) ClosePR(ctx context.Context, pr forge.PR, comment string) error {
	return h.call(ctx, "close pull request", func() error {
		p := h.pull(pr.Number)
		if p == nil {
			return fmt.Errorf("closing #%d: %w", pr.Number, forge.ErrNotFound)
		}
		if comment != "" {
			p.comments = append(p.comments, comment)
		}
		if p.open {
			p.open, p.closedBy = false, "credrotate"
		}
		return nil
	})
}

// GetPR implements rotate.Forge.
func (h *hub) GetPR(ctx context.Context, n int) (forge.PR, error) {
	var out forge.PR
	err := h.call(ctx, "get pull request", func() error {
		p := h.pull(n)
		if p == nil {
			return fmt.Errorf("reading #%d: %w", n, forge.ErrNotFound)
		}
		out = h.toPR(p)
		// GitHub reports mergeability on a single pull request only.
		if p.open {
			m := h.mergeable(p)
			out.Mergeable, out.MergeableState = &m, "dirty"
			if m {
				out.MergeableState = "blocked"
				if h.checks == ChecksSuccess {
					out.MergeableState = "clean"
				}
			}
		}
		return nil
	})
	return out, err
}

func (h *hub) openIssue(key string) *alertIssue {
	for _, is := range h.issues {
		if is.open && is.key == key {
			return is
		}
	}
	return nil
}

// RaiseAlert implements rotate.Forge.
func (h *hub) RaiseAlert(ctx context.Context, a forge.Alert) (forge.Issue, error) {
	var out forge.Issue
	err := h.call(ctx, "raise alert", func() error {
		is := h.openIssue(a.Key)
		if is == nil {
			is = &alertIssue{num: h.next, key: a.Key, open: true, opened: h.now()}
			h.next++
			h.issues = append(h.issues, is)
		} else {
			is.comments = append(is.comments, a.Body)
		}
		is.title, is.body = a.Title, a.Body
		out = forge.Issue{Number: is.num, URL: fmt.Sprintf("https://github.example/acme/gitops/issues/%d", is.num), State: "open"}
		return nil
	})
	return out, err
}

// ResolveAlert implements rotate.Forge.
func (h *hub) ResolveAlert(ctx context.Context, key, comment string) error {
	return h.call(ctx, "resolve alert", func() error {
		if is := h.openIssue(key); is != nil {
			is.comments = append(is.comments, comment)
			is.open = false
		}
		return nil
	})
}

// OpenAlertKeys implements rotate.Forge.
func (h *hub) OpenAlertKeys(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := h.call(ctx, "list alerts", func() error {
		for _, is := range h.issues {
			if is.open {
				out[is.key] = true
			}
		}
		return nil
	})
	return out, err
}

// texts returns every text the hub holds, for the leak check.
func (h *hub) texts() []string {
	var out []string
	for _, p := range h.pulls {
		out = append(out, p.title, p.body)
		out = append(out, p.comments...)
	}
	for _, is := range h.issues {
		out = append(out, is.title, is.body)
		out = append(out, is.comments...)
	}
	return out
}

// openByKey counts the open pull requests that propose each provider key:
// the keys of the manifests their branch's commit changes.
func (h *hub) openByKey() map[string][]int {
	out := map[string][]int{}
	for _, p := range h.pulls {
		if !p.open {
			continue
		}
		if _, ok, err := forge.ParseState(p.body); err != nil || !ok {
			continue
		}
		ref, err := h.repo.st.Reference(plumbing.NewBranchReferenceName(p.branch))
		if err != nil {
			continue
		}
		files, err := gitops.CommitChanges(h.repo.st, ref.Hash())
		if err != nil {
			continue
		}
		keys, err := rotate.ProposedKeys(files, nil)
		if err != nil {
			continue
		}
		for _, k := range keys {
			out[k.ProviderKey] = append(out[k.ProviderKey], p.num)
		}
	}
	for k := range out {
		sort.Ints(out[k])
	}
	return out
}

func isAncestor(r *bareRepo, a, b plumbing.Hash) bool {
	ac, err := object.GetCommit(r.st, a)
	if err != nil {
		return false
	}
	bc, err := object.GetCommit(r.st, b)
	if err != nil {
		return false
	}
	ok, err := ac.IsAncestor(bc)
	return err == nil && ok
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
