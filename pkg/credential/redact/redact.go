// Package redact is credrotate's run-wide secret masking: a Redactor knows
// every secret value in play during one run (current secrets as they are
// read, new secrets as they are minted, access tokens, the GitHub and git
// tokens, the webhook URL) and replaces each of them, and the forms a value
// takes on its way out of the process, with credential.Redacted.
//
// Like a CI runner's log masking, it is meant to sit in front of every sink
// (the log output, stdout and stderr, pull request and issue bodies, the
// webhook, the metrics file) rather than be called at each place a secret
// might be printed: a value is registered once, the moment it is read or
// minted, and every later write through the Redactor is masked.
//
// The forms masked for each value are: the value itself; its base64
// encodings (standard and URL alphabets, padded and raw, and the part of the
// encoding that does not depend on alignment, which is what appears when the
// value is encoded together with other bytes, as in a Basic Authorization
// header); its URL query and path escapings; and its JSON and Go-quoted
// escapings (what a JSON log line or a %q verb prints). Values shorter than
// MinLength are not registered: masking every "true" or "prod" would make
// output unreadable and protect nothing.
package redact

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/credrotate/credrotate/pkg/credential"
)

// MinLength is the length below which a value is not registered.
const MinLength = 8

// Mask is what a masked value is replaced with.
const Mask = credential.Redacted

// minCore is the shortest alignment-independent base64 fragment that is
// masked; shorter fragments would match ordinary text.
const minCore = 12

// Redactor masks registered secret values. The zero value is not usable;
// call New. A nil *Redactor masks nothing, so code paths without one still
// work. It is safe for concurrent use.
//
// Masking scans the text once: every form is indexed by its first eight
// bytes (MinLength), so the cost per byte does not grow with the number of
// secrets, and registering a value never rebuilds anything.
type Redactor struct {
	mu   sync.RWMutex
	seen map[string]bool
	// index holds each form under the key of its first MinLength bytes.
	index map[uint64]*bucket
	// pairs has a bit set for the first two bytes of every form: most
	// positions of a text are passed over without a map lookup.
	pairs [1 << 16 / 64]uint64
}

// bucket is the forms that share their first MinLength bytes, with the
// lengths they come in, longest first: a lookup tries one map probe per
// length, however many secrets share a prefix.
type bucket struct {
	lengths []int
	forms   map[string]struct{}
}

// New returns an empty Redactor.
func New() *Redactor {
	return &Redactor{seen: map[string]bool{}, index: map[uint64]*bucket{}}
}

// Add registers a secret value. Values shorter than MinLength are ignored.
func (r *Redactor) Add(value string) {
	if r == nil || len(value) < MinLength {
		return
	}
	r.mu.RLock()
	known := r.seen[value]
	r.mu.RUnlock()
	if known {
		return
	}
	forms := Forms(value)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[value] {
		return
	}
	r.seen[value] = true
	for _, f := range forms {
		p := uint16(f[0])<<8 | uint16(f[1])
		r.pairs[p/64] |= 1 << (p % 64)
		k := prefixKey(f)
		bk := r.index[k]
		if bk == nil {
			bk = &bucket{forms: map[string]struct{}{}}
			r.index[k] = bk
		}
		bk.forms[f] = struct{}{}
		if !slices.Contains(bk.lengths, len(f)) {
			bk.lengths = append(bk.lengths, len(f))
			sort.Sort(sort.Reverse(sort.IntSlice(bk.lengths)))
		}
	}
}

// prefixKey packs the first MinLength bytes of s (which must be at least
// that long) into a map key.
func prefixKey(s string) uint64 {
	var k uint64
	for i := 0; i < MinLength; i++ {
		k = k<<8 | uint64(s[i])
	}
	return k
}

// AddSecret registers s's plaintext.
func (r *Redactor) AddSecret(s credential.Secret) { r.Add(s.Reveal()) }

// AddBasic registers the Authorization header forms of a client id and
// secret: base64("id:secret"), with and without the form-encoding that RFC
// 6749 asks for, so a server that echoes the header it received is masked
// even though the secret's own base64 is not aligned inside it.
func (r *Redactor) AddBasic(id string, secret credential.Secret) {
	if r == nil || len(secret.Reveal()) < MinLength {
		return
	}
	s := secret.Reveal()
	r.Add(s)
	r.Add(base64.StdEncoding.EncodeToString([]byte(id + ":" + s)))
	r.Add(base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(s))))
}

// Len is the number of values registered.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.seen)
}

// String masks every registered form in s: scanning left to right, the
// longest form that starts at a position is replaced, and the scan goes on
// after it.
func (r *Redactor) String(s string) string {
	if r == nil || len(s) < MinLength {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.index) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+MinLength <= len(s); {
		if p := uint16(s[i])<<8 | uint16(s[i+1]); r.pairs[p/64]&(1<<(p%64)) == 0 {
			i++
			continue
		}
		if bk, ok := r.index[prefixKey(s[i:])]; ok {
			n := 0
			for _, l := range bk.lengths {
				if i+l > len(s) {
					continue
				}
				if _, ok := bk.forms[s[i:i+l]]; ok {
					n = l
					break
				}
			}
			if n > 0 {
				if last == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(Mask)
				i += n
				last = i
				continue
			}
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Bytes masks every registered form in b. It returns b itself when nothing
// is masked.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(b) < MinLength {
		return b
	}
	in := string(b)
	out := r.String(in)
	if len(out) == len(in) && out == in {
		return b
	}
	return []byte(out)
}

// Strings masks each element of ss, in place, and returns ss.
func (r *Redactor) Strings(ss []string) []string {
	for i := range ss {
		ss[i] = r.String(ss[i])
	}
	return ss
}

// Forms returns every form of value that Redactor masks, without
// duplicates. Exported for tests of the sinks.
func Forms(value string) []string {
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= MinLength {
			set[s] = true
		}
	}
	add(value)
	b := []byte(value)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for _, c := range base64Cores(enc, b) {
			if len(c) >= minCore {
				add(c)
			}
		}
	}
	add(url.QueryEscape(value))
	add(url.PathEscape(value))
	if j, err := json.Marshal(value); err == nil {
		add(string(j[1 : len(j)-1]))
	}
	q := strconv.Quote(value)
	add(q[1 : len(q)-1])
	q = strconv.QuoteToASCII(value)
	add(q[1 : len(q)-1])
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// base64Cores returns, for each of the three alignments value can have in a
// longer byte string, the base64 characters that depend on value's bytes
// only: whatever precedes or follows it, its encoding contains these.
func base64Cores(enc *base64.Encoding, value []byte) []string {
	var out []string
	for off := 0; off < 3; off++ {
		buf := make([]byte, off+len(value))
		copy(buf[off:], value)
		s := enc.EncodeToString(buf)
		// Characters 4k..4k+3 encode bytes 3k..3k+2. Keep the groups that
		// lie inside value entirely.
		first := (off + 2) / 3         // first whole group
		last := (off + len(value)) / 3 // groups end before this one
		if last <= first || 4*last > len(s) {
			continue
		}
		out = append(out, s[4*first:4*last])
	}
	return out
}

// Writer returns an io.Writer that masks each Write before passing it on
// to w. Each Write is masked on its own: a value split across two writes is
// not recognised, so it is meant for writers that write whole messages (a
// log formatter's entry, an encoded JSON document, a formatted line).
func (r *Redactor) Writer(w io.Writer) io.Writer {
	if r == nil {
		return w
	}
	return &writer{r: r, w: w}
}

type writer struct {
	r *Redactor
	w io.Writer
}

func (m *writer) Write(p []byte) (int, error) {
	out := m.r.Bytes(p)
	if _, err := m.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap returns the writer masked output goes to, so callers can tell
// whether it is a terminal.
func (m *writer) Unwrap() io.Writer { return m.w }

// Unwrap returns the writer under w when w is a Redactor's writer, else w.
func Unwrap(w io.Writer) io.Writer {
	if m, ok := w.(*writer); ok {
		return m.w
	}
	return w
}

// Error returns an error whose message is err's, masked; errors.Is and
// errors.As see err through it. It returns nil for nil.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	return &maskedError{r: r, err: err}
}

type maskedError struct {
	r   *Redactor
	err error
}

func (e *maskedError) Error() string { return e.r.String(e.err.Error()) }
func (e *maskedError) Unwrap() error { return e.err }

// Bound shortens s to at most max bytes, on a rune boundary, marking a cut
// with Truncated. Provider error text is kept for the person reading it, but
// a hostile server must not be able to flood a log line or an issue.
func Bound(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max - len(Truncated)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Truncated
}

// Truncated marks text that Bound shortened.
const Truncated = "…(truncated)"

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
