package forge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// StateVersion is the version of the state marker RenderBody writes. Since
// version 2 the marker identifies the run only (trace id, command,
// mock-safe): each key's state is in the annotations of the manifests the
// rotation branch's commit changes, so a pull request of any size has a
// marker of the same size. Version 1 markers, which list every key, are
// still read.
const StateVersion = 2

// legacyStateVersion is the marker that carries every key's state.
const legacyStateVersion = 1

// MaxStateSize caps the JSON inside the state marker that ParseState reads.
// GitHub caps a body at 65,536 characters; a marker close to that is not
// credrotate's.
const MaxStateSize = 60 << 10

// MaxBodySize is the longest pull request body GitHub accepts, in characters.
const MaxBodySize = 65536

const (
	markerOpen  = "<!-- credrotate:state "
	markerClose = "-->"
)

// RotationState is a rotation pull request's state: which run opened it,
// and which secrets it proposes. The marker carries the run's identity;
// Keys are shown to the reviewer and, for a version 1 marker, read back
// from it. It holds ids and fingerprints only, never a secret.
type RotationState struct {
	Version int        `json:"version"`
	TraceID string     `json:"traceId"`
	Command string     `json:"command,omitempty"`
	Keys    []KeyState `json:"keys,omitempty"`
	// MockSafe says the secrets are mock-safe inventions that Equifax does
	// not know: the pull request must not be merged.
	MockSafe bool `json:"mockSafe,omitempty"`

	// What follows is for the reviewer only: the body shows it, the marker
	// does not carry it (the next run needs none of it).

	// RotatedAt is when the run minted the secrets: days left are counted
	// from it.
	RotatedAt time.Time `json:"-"`
	// RenewBefore is the renewal window the run used.
	RenewBefore time.Duration `json:"-"`
	// RunURL links the run that opened the pull request (a GitHub Actions
	// run), when there is one.
	RunURL string `json:"-"`
}

// KeyState is one provider key's rotation in a pull request.
type KeyState struct {
	ProviderKey string `json:"providerKey"`
	ClientID    string `json:"clientId,omitempty"`
	// NewSecretID is the secret the pull request seals; OldSecretID the one
	// it replaces (revoked once the rollout is observed).
	NewSecretID  string    `json:"newSecretId"`
	OldSecretID  string    `json:"oldSecretId,omitempty"`
	Fingerprint  string    `json:"fingerprint,omitempty"`
	ExpiresAt    time.Time `json:"expiresAt"`
	Environments []EnvFile `json:"environments,omitempty"`
	// Emergency says the rotation was asked for with --emergency (a
	// leaked secret): renewed with force, the old secret revoked as soon as
	// the rollout is observed.
	Emergency bool `json:"emergency,omitempty"`

	// OldExpiresAt is when the secret being replaced expires (why the key
	// was rotated), and RetiringUntil when it stops working: the deadline
	// for the merge and the rollout. For the reviewer only, like
	// RotationState.RotatedAt.
	OldExpiresAt  time.Time `json:"-"`
	RetiringUntil time.Time `json:"-"`
}

// Emergency reports whether any key of the rotation is an emergency.
func (s RotationState) Emergency() bool {
	for _, k := range s.Keys {
		if k.Emergency {
			return true
		}
	}
	return false
}

// maxTitle is the longest title RenderTitle names every key in.
const maxTitle = 120

// RenderTitle renders a rotation pull request's title from the same state
// as its body: the keys it rotates (or how many), marked when it is an
// emergency or mock-safe.
func RenderTitle(s RotationState) string {
	keys := make([]string, 0, len(s.Keys))
	for _, k := range s.Keys {
		keys = append(keys, k.ProviderKey)
	}
	sort.Strings(keys)
	title := "credrotate: rotate " + strings.Join(keys, ", ")
	if len(title) > maxTitle {
		title = fmt.Sprintf("credrotate: rotate %d credentials", len(keys))
	}
	if s.Emergency() {
		title = "[emergency] " + title
	}
	if s.MockSafe {
		// The secrets are mock-safe inventions: merging them would deploy
		// secrets Equifax does not know.
		title = "[mock-safe, do not merge] " + title
	}
	return title
}

// EnvFile is one environment's sealed file.
type EnvFile struct {
	Env  string `json:"env"`
	Path string `json:"path"`
}

// ErrStateMarker reports a state marker that cannot be trusted: malformed,
// too large, duplicated, of an unknown version, or with bad content.
var ErrStateMarker = errors.New("invalid credrotate state marker")

var fingerprintRe = regexp.MustCompile(`^sha256:[0-9a-f]{16}$`)

// RenderBody renders a rotation pull request's body as GitHub Flavored
// Markdown, for a reviewer to judge at a glance: the deadline that matters
// (when the retiring secrets stop working), one row per provider key (why it
// was rotated, the new secret, its expiry with days left, the environments),
// for many keys a summary with the table folded, the files folded, the link
// to the run, its trace id and command; and a hidden marker with the run's
// identity as JSON that ParseState reads back. The body stays under MaxBodySize: what
// does not fit is cut with a pointer to the files changed and `credrotate
// status`.
func RenderBody(s RotationState) string {
	if s.Version == 0 {
		s.Version = StateVersion
	}
	keys := append([]KeyState(nil), s.Keys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].ProviderKey < keys[j].ProviderKey })
	s.Keys = keys

	mark := marker(s)
	// GitHub refuses a body over MaxBodySize characters: the table and the
	// file list get what the marker and the rest leave.
	budget := MaxBodySize - len(mark) - 4096

	var b strings.Builder
	b.WriteString("## credrotate: credential rotation\n\n")
	envs := envNames(keys)
	switch len(keys) {
	case 0:
		b.WriteString("This pull request updates sealed credentials.\n\n")
	case 1:
		fmt.Fprintf(&b, "This pull request rotates the client secret of %s%s. Merge it to roll the new secret out; the old secret stays valid until the rollout is observed, then credrotate revokes it.\n\n", code(keys[0].ProviderKey), inEnvs(envs))
	default:
		fmt.Fprintf(&b, "This pull request rotates %d client secrets%s. Merge it to roll the new secrets out; the old secrets stay valid until the rollout is observed, then credrotate revokes them.\n\n", len(keys), inEnvs(envs))
	}
	if s.MockSafe {
		b.WriteString("> [!CAUTION]\n> **Mock-safe run: do not merge.** Nothing was changed at the provider; these secrets are inventions it does not know.\n\n")
	}
	if s.Emergency() {
		b.WriteString("> [!WARNING]\n> **Emergency rotation** (`--emergency`): the secret was renewed at once, whatever its renewal window, because the one in use may be leaked. Merge as soon as the checks pass: once the rollout is observed, credrotate revokes the old secret at once.\n\n")
	}
	if d, n := deadline(keys); !d.IsZero() && !s.MockSafe {
		what := "the secret it replaces stops"
		switch {
		case len(keys) > 1 && n == len(keys):
			what = "the secrets it replaces stop"
		case n == 1:
			what = fmt.Sprintf("the first of the %d secrets it replaces stops", len(keys))
		case n > 1:
			what = fmt.Sprintf("the first %d of the %d secrets it replaces stop", n, len(keys))
		}
		fmt.Fprintf(&b, "> [!IMPORTANT]\n> **Merge and roll out before %s**%s: then %s working.\n\n", stamp(d), s.daysLeft(d), what)
	}

	if len(keys) > 0 {
		var table strings.Builder
		table.WriteString("| Provider key | Why | New secret | Expires | Environments |\n")
		table.WriteString("| --- | --- | --- | --- | --- |\n")
		shown := 0
		for _, k := range keys {
			row := fmt.Sprintf("| %s | %s | %s | %s | %s |\n", code(k.ProviderKey), s.why(k), newSecret(k), s.date(k.ExpiresAt), cell(strings.Join(keyEnvs(k), ", ")))
			if b.Len()+table.Len()+len(row) > budget {
				break
			}
			table.WriteString(row)
			shown++
		}
		if shown < len(keys) {
			fmt.Fprintf(&table, "\n… and %d more: see the files changed, or `credrotate status`.\n", len(keys)-shown)
		}
		if len(keys) > foldAbove {
			s.summary(&b, keys)
			fmt.Fprintf(&b, "<details>\n<summary>All %d provider keys</summary>\n\n%s\n</details>\n\n", len(keys), table.String())
		} else {
			b.WriteString(table.String())
			b.WriteString("\n")
		}
		var files []string
		for _, k := range keys {
			for _, e := range k.Environments {
				if e.Path != "" {
					files = append(files, e.Path)
				}
			}
		}
		if len(files) > 0 {
			var list strings.Builder
			for i, f := range files {
				line := "- " + code(f) + "\n"
				if b.Len()+list.Len()+len(line) > budget {
					fmt.Fprintf(&list, "- … and %d more: see the files changed.\n", len(files)-i)
					break
				}
				list.WriteString(line)
			}
			fmt.Fprintf(&b, "<details>\n<summary>Files (%d)</summary>\n\n%s\n</details>\n\n", len(files), list.String())
		}
	}
	var run []string
	if s.RunURL != "" && safeURL(s.RunURL) {
		run = append(run, fmt.Sprintf("**Run:** [GitHub Actions run](%s)", s.RunURL))
	}
	if s.TraceID != "" {
		run = append(run, "**Trace ID:** "+code(s.TraceID))
	}
	if s.Command != "" {
		run = append(run, "**Command:** "+code(s.Command))
	}
	if len(run) > 0 {
		b.WriteString(strings.Join(run, "  \n") + "\n")
	}
	b.WriteString("\n<sub>Opened by credrotate. Edits to this text are fine; keep the hidden state marker below.</sub>\n\n")
	b.WriteString(mark)
	b.WriteString("\n")
	return b.String()
}

// foldAbove is the number of keys above which the body shows a summary and
// folds the table.
const foldAbove = 20

// summary writes, for many keys, how many go to each environment and when
// the secrets they replace expire.
func (s RotationState) summary(b *strings.Builder, keys []KeyState) {
	perEnv := map[string]int{}
	for _, k := range keys {
		for _, e := range keyEnvs(k) {
			perEnv[e]++
		}
	}
	b.WriteString("| Environment | Provider keys |\n| --- | --- |\n")
	for _, e := range envNames(keys) {
		fmt.Fprintf(b, "| %s | %d |\n", cell(e), perEnv[e])
	}
	b.WriteString("\n")
	if s.RotatedAt.IsZero() {
		return
	}
	buckets := []struct {
		label string
		upTo  time.Duration
		n     int
	}{{"expired", 0, 0}, {"within 7 days", 7 * 24 * time.Hour, 0}, {"within 14 days", 14 * 24 * time.Hour, 0}, {"within 30 days", 30 * 24 * time.Hour, 0}, {"later", 1<<63 - 1, 0}}
	unknown := 0
	for _, k := range keys {
		if k.OldExpiresAt.IsZero() {
			unknown++
			continue
		}
		left := k.OldExpiresAt.Sub(s.RotatedAt)
		for i := range buckets {
			if left <= buckets[i].upTo {
				buckets[i].n++
				break
			}
		}
	}
	b.WriteString("| The replaced secret expires | Provider keys |\n| --- | --- |\n")
	for _, bk := range buckets {
		if bk.n > 0 {
			fmt.Fprintf(b, "| %s | %d |\n", bk.label, bk.n)
		}
	}
	if unknown > 0 {
		fmt.Fprintf(b, "| not known (first rotation) | %d |\n", unknown)
	}
	b.WriteString("\n")
}

// why says why a key was rotated: an emergency, or the secret it replaces
// and when that expires ("by hand" when that was outside the renewal
// window).
func (s RotationState) why(k KeyState) string {
	var w []string
	if k.OldSecretID != "" {
		w = append(w, "replaces "+code(k.OldSecretID))
	}
	switch {
	case k.Emergency:
		w = append(w, "**emergency**")
	case !k.OldExpiresAt.IsZero():
		e := "expiring " + s.date(k.OldExpiresAt)
		if s.RenewBefore > 0 && !s.RotatedAt.IsZero() && k.OldExpiresAt.Sub(s.RotatedAt) > s.RenewBefore {
			e += ", by hand (before the window)"
		}
		w = append(w, e)
	case k.OldSecretID == "":
		w = append(w, "first rotation")
	}
	return strings.Join(w, "<br>")
}

// date renders t as a date with the days left at the time of the run.
func (s RotationState) date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02") + s.daysLeft(t)
}

// daysLeft is " (in N days)" counted from the run, or "" without its time.
func (s RotationState) daysLeft(t time.Time) string {
	if s.RotatedAt.IsZero() {
		return ""
	}
	d := t.Sub(s.RotatedAt)
	switch days := int((d + 12*time.Hour) / (24 * time.Hour)); {
	case d < 0:
		return " (passed)"
	case days == 0:
		return " (today)"
	case days == 1:
		return " (in 1 day)"
	default:
		return fmt.Sprintf(" (in %d days)", days)
	}
}

// deadline is the earliest time a retiring secret stops working, and how
// many keys share it (to the day).
func deadline(keys []KeyState) (time.Time, int) {
	var d time.Time
	for _, k := range keys {
		if t := k.RetiringUntil; !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	n := 0
	for _, k := range keys {
		if t := k.RetiringUntil; !t.IsZero() && t.Sub(d) < 24*time.Hour {
			n++
		}
	}
	return d, n
}

// stamp renders a deadline to the minute, in UTC.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// newSecret renders the new secret's id and fingerprint in one cell.
func newSecret(k KeyState) string {
	if k.Fingerprint == "" {
		return code(k.NewSecretID)
	}
	return code(k.NewSecretID) + "<br>" + code(k.Fingerprint)
}

// keyEnvs lists a key's environments in order.
func keyEnvs(k KeyState) []string {
	out := make([]string, 0, len(k.Environments))
	for _, e := range k.Environments {
		if e.Env != "" {
			out = append(out, e.Env)
		}
	}
	return out
}

// envNames lists the environments of every key, in the order first seen.
func envNames(keys []KeyState) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		for _, e := range keyEnvs(k) {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// inEnvs is " in prod, staging and uat", or "" without environments.
func inEnvs(envs []string) string {
	switch len(envs) {
	case 0:
		return ""
	case 1:
		return " in " + cell(envs[0])
	}
	quoted := make([]string, len(envs))
	for i, e := range envs {
		quoted[i] = cell(e)
	}
	return " in " + strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
}

// safeURL accepts only an http(s) URL with nothing that could break out of
// a Markdown link or an HTML comment.
func safeURL(u string) bool {
	return (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && !strings.ContainsAny(u, " ()<>[]\"'`\n\r|")
}

// marker renders the hidden state marker: the run's identity, no key.
// encoding/json escapes '<' and '>' (as \u003c, \u003e), so no value can
// close the HTML comment early.
func marker(s RotationState) string {
	s.Version, s.Keys = StateVersion, nil
	data, err := json.Marshal(s)
	if err != nil {
		// RotationState has only strings, ints and times: Marshal cannot
		// fail on it.
		panic(err)
	}
	return markerOpen + string(data) + " " + markerClose
}

// ParseState reads the state marker back from a pull request body. found is
// false (and err nil) when the body has no marker. Text around the marker may
// be edited freely; the JSON inside must be exactly what RenderBody writes:
// one marker, strict JSON with known fields only, a known version, at most
// MaxStateSize bytes, fingerprints in their public form.
func ParseState(body string) (s RotationState, found bool, err error) {
	i := strings.Index(body, markerOpen)
	if i < 0 {
		return RotationState{}, false, nil
	}
	if strings.Contains(body[i+len(markerOpen):], markerOpen) {
		return RotationState{}, true, fmt.Errorf("%w: more than one marker", ErrStateMarker)
	}
	rest := body[i+len(markerOpen):]
	j := strings.Index(rest, markerClose)
	if j < 0 {
		return RotationState{}, true, fmt.Errorf("%w: unterminated marker", ErrStateMarker)
	}
	raw := strings.TrimSpace(rest[:j])
	if len(raw) > MaxStateSize {
		return RotationState{}, true, fmt.Errorf("%w: %d bytes, more than %d", ErrStateMarker, len(raw), MaxStateSize)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return RotationState{}, true, fmt.Errorf("%w: %v", ErrStateMarker, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return RotationState{}, true, fmt.Errorf("%w: trailing data after the JSON object", ErrStateMarker)
	}
	if err := s.validate(); err != nil {
		return RotationState{}, true, fmt.Errorf("%w: %v", ErrStateMarker, err)
	}
	return s, true, nil
}

func (s RotationState) validate() error {
	switch {
	case s.Version != StateVersion && s.Version != legacyStateVersion:
		return fmt.Errorf("version %d, this credrotate reads versions %d and %d", s.Version, legacyStateVersion, StateVersion)
	case s.Version == StateVersion && len(s.Keys) > 0:
		return fmt.Errorf("a version %d marker carries no keys (they are in the rotation branch's manifests)", StateVersion)
	}
	seen := map[string]bool{}
	for i, k := range s.Keys {
		if k.ProviderKey == "" {
			return fmt.Errorf("key %d has no providerKey", i)
		}
		if seen[k.ProviderKey] {
			return fmt.Errorf("provider key %q appears twice", k.ProviderKey)
		}
		seen[k.ProviderKey] = true
		if k.NewSecretID == "" {
			return fmt.Errorf("provider key %q has no newSecretId", k.ProviderKey)
		}
		if k.Fingerprint != "" && !fingerprintRe.MatchString(k.Fingerprint) {
			return fmt.Errorf("provider key %q: fingerprint is not sha256:<16 hex>", k.ProviderKey)
		}
	}
	return nil
}

// code renders s as inline code in a table cell.
func code(s string) string {
	if s == "" {
		return "—"
	}
	if strings.ContainsAny(s, "<>") {
		// inside a code span an entity shows as typed: fall back to plain
		// text, so no value can open or close an HTML comment.
		return cell(s)
	}
	s = strings.NewReplacer("`", "'", "|", "\\|", "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}

// cell renders s as plain text in a table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
