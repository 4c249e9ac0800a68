package localhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// stateVersion is the format of the state file.
const stateVersion = 1

// The state file mirrors what lives beside git: pull requests, issues,
// comments, labels and posted commit statuses. Tokens are not kept (installation tokens are minted
// again, as they expire anyway), nor the check mode, which each run sets.
type stateFile struct {
	Version  int                      `json:"version"`
	NextID   int64                    `json:"next_id"`
	Labels   []labelState             `json:"labels"`
	Issues   []issueState             `json:"issues"`
	Statuses map[string][]statusState `json:"statuses,omitempty"`
}

type statusState struct {
	ID          int64     `json:"id"`
	State       string    `json:"state"`
	Context     string    `json:"context"`
	Description string    `json:"description,omitempty"`
	TargetURL   string    `json:"target_url,omitempty"`
	Creator     string    `json:"creator"`
	CreatedAt   time.Time `json:"created_at"`
}

type labelState struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description,omitempty"`
}

type commentState struct {
	ID        int64     `json:"id"`
	Body      string    `json:"body"`
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type autoMergeState struct {
	Method        string    `json:"method"`
	EnabledAt     time.Time `json:"enabled_at"`
	EnabledBy     string    `json:"enabled_by"`
	CommitTitle   string    `json:"commit_title,omitempty"`
	CommitMessage string    `json:"commit_message,omitempty"`
	ExpectedHead  string    `json:"expected_head,omitempty"`
}

type pullState struct {
	ID                  int64           `json:"id"`
	Head                string          `json:"head"`
	Base                string          `json:"base"`
	HeadSHA             string          `json:"head_sha"`
	BaseSHA             string          `json:"base_sha"`
	Draft               bool            `json:"draft,omitempty"`
	MaintainerCanModify bool            `json:"maintainer_can_modify,omitempty"`
	Merged              bool            `json:"merged,omitempty"`
	MergedAt            time.Time       `json:"merged_at,omitzero"`
	MergedBy            string          `json:"merged_by,omitempty"`
	MergeCommitSHA      string          `json:"merge_commit_sha,omitempty"`
	MergeMethod         string          `json:"merge_method,omitempty"`
	Reviewers           []string        `json:"reviewers,omitempty"`
	Teams               []string        `json:"teams,omitempty"`
	Fork                string          `json:"fork,omitempty"`
	ForkGone            bool            `json:"fork_gone,omitempty"`
	AutoMerge           *autoMergeState `json:"auto_merge,omitempty"`
}

type issueState struct {
	Number      int            `json:"number"`
	ID          int64          `json:"id"`
	Title       string         `json:"title"`
	Body        string         `json:"body"`
	State       string         `json:"state"`
	StateReason string         `json:"state_reason,omitempty"`
	User        string         `json:"user"`
	Labels      []string       `json:"labels,omitempty"`
	Comments    []commentState `json:"comments,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	ClosedAt    time.Time      `json:"closed_at,omitzero"`
	ClosedBy    string         `json:"closed_by,omitempty"`
	PR          *pullState     `json:"pull_request,omitempty"`
}

// snapshotLocked turns the in-memory state into its file form.
func (s *Server) snapshotLocked() stateFile {
	st := stateFile{Version: stateVersion, NextID: s.nextID}
	for _, k := range sortedKeys(s.labels) {
		l := s.labels[k]
		st.Labels = append(st.Labels, labelState{ID: l.id, Name: l.name, Color: l.color, Description: l.description})
	}
	for sha, list := range s.statuses {
		if st.Statuses == nil {
			st.Statuses = map[string][]statusState{}
		}
		for _, c := range list {
			st.Statuses[sha] = append(st.Statuses[sha], statusState{ID: c.id, State: c.state, Context: c.context,
				Description: c.description, TargetURL: c.targetURL, Creator: c.creator, CreatedAt: c.createdAt})
		}
	}
	for _, is := range s.issues {
		o := issueState{
			Number: is.number, ID: is.id, Title: is.title, Body: is.body, State: is.state, StateReason: is.stateReason,
			User: is.user, Labels: is.labels, CreatedAt: is.createdAt, UpdatedAt: is.updatedAt, ClosedAt: is.closedAt,
			ClosedBy: is.closedBy,
		}
		for _, c := range is.comments {
			o.Comments = append(o.Comments, commentState{ID: c.id, Body: c.body, User: c.user, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt})
		}
		if p := is.pr; p != nil {
			ps := &pullState{
				ID: p.id, Head: p.head, Base: p.base, HeadSHA: p.headSHA, BaseSHA: p.baseSHA, Draft: p.draft,
				MaintainerCanModify: p.maintainerCanModify, Merged: p.merged, MergedAt: p.mergedAt, MergedBy: p.mergedBy,
				MergeCommitSHA: p.mergeCommitSHA, MergeMethod: p.mergeMethod, Reviewers: p.reviewers, Teams: p.teams,
				Fork: p.fork, ForkGone: p.forkGone,
			}
			if am := p.autoMerge; am != nil {
				ps.AutoMerge = &autoMergeState{Method: am.method, EnabledAt: am.enabledAt, EnabledBy: am.enabledBy,
					CommitTitle: am.commitTitle, CommitMessage: am.commitMessage, ExpectedHead: am.expectedHead}
			}
			o.PR = ps
		}
		st.Issues = append(st.Issues, o)
	}
	return st
}

// restore loads a state file written by saveLocked.
func (s *Server) restore(st stateFile) error {
	if st.Version != stateVersion {
		return fmt.Errorf("state file version %d is not %d", st.Version, stateVersion)
	}
	s.nextID = max(st.NextID, s.nextID)
	for _, l := range st.Labels {
		s.labels[strings.ToLower(l.Name)] = &labelDef{id: l.ID, name: l.Name, color: l.Color, description: l.Description}
	}
	for sha, list := range st.Statuses {
		if s.statuses == nil {
			s.statuses = map[string][]*commitStatus{}
		}
		for _, c := range list {
			s.statuses[sha] = append(s.statuses[sha], &commitStatus{id: c.ID, state: c.State, context: c.Context,
				description: c.Description, targetURL: c.TargetURL, creator: c.Creator, createdAt: c.CreatedAt})
		}
	}
	for i, o := range st.Issues {
		if o.Number != i+1 {
			return fmt.Errorf("state file: issue %d is stored as number %d", i+1, o.Number)
		}
		is := &issue{
			number: o.Number, id: o.ID, title: o.Title, body: o.Body, state: o.State, stateReason: o.StateReason,
			user: o.User, labels: o.Labels, createdAt: o.CreatedAt, updatedAt: o.UpdatedAt, closedAt: o.ClosedAt,
			closedBy: o.ClosedBy,
		}
		for _, c := range o.Comments {
			is.comments = append(is.comments, &comment{id: c.ID, body: c.Body, user: c.User, createdAt: c.CreatedAt, updatedAt: c.UpdatedAt})
		}
		if p := o.PR; p != nil {
			is.pr = &pull{
				id: p.ID, head: p.Head, base: p.Base, headSHA: p.HeadSHA, baseSHA: p.BaseSHA, draft: p.Draft,
				maintainerCanModify: p.MaintainerCanModify, merged: p.Merged, mergedAt: p.MergedAt, mergedBy: p.MergedBy,
				mergeCommitSHA: p.MergeCommitSHA, mergeMethod: p.MergeMethod, reviewers: p.Reviewers, teams: p.Teams,
				fork: p.Fork, forkGone: p.ForkGone,
			}
			if am := p.AutoMerge; am != nil {
				is.pr.autoMerge = &autoMerge{method: am.Method, enabledAt: am.EnabledAt, enabledBy: am.EnabledBy,
					commitTitle: am.CommitTitle, commitMessage: am.CommitMessage, expectedHead: am.ExpectedHead}
			}
		}
		s.issues = append(s.issues, is)
	}
	return nil
}

// loadState reads Options.StateFile, if there is one yet.
func (s *Server) loadState() error {
	data, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading state %s: %w", s.opts.StateFile, err)
	}
	if err := s.restore(st); err != nil {
		return fmt.Errorf("reading state %s: %w", s.opts.StateFile, err)
	}
	return nil
}

// saveLocked writes the state file, atomically, when one is configured.
func (s *Server) saveLocked() {
	if s.opts.StateFile == "" {
		return
	}
	data, err := json.MarshalIndent(s.snapshotLocked(), "", "  ")
	if err == nil {
		tmp := s.opts.StateFile + ".tmp"
		if err = os.WriteFile(tmp, append(data, '\n'), 0o600); err == nil {
			err = os.Rename(tmp, s.opts.StateFile)
		}
	}
	if err != nil {
		s.logf("localhub: saving state to %s: %v", filepath.Base(s.opts.StateFile), err)
	}
}

// persist saves the state after a call that may have changed it.
func (s *Server) persist() {
	if s.opts.StateFile == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saveLocked()
}
