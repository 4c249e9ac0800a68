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
	"fmt"
	"hash/maphash"
	"io"
	"math/bits"
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
// Masking scans the text once. At each position the text's next eight
// bytes (MinLength) give the lengths of the forms that start with them, and
// each length costs one lookup of a hash of that much of the text: the cost
// per byte does not grow with the number of secrets, and registering a value
// never rebuilds anything.
//
// Only the values are kept, not their forms: the index maps a 32-bit hash of
// each form's text to the value and the kind of form it is, and a text that
// hashes to a form is masked only if computing that form of that value again
// gives the text. A hash collision costs a comparison, never a form: the rare
// form whose hash another form already has is kept whole, in spill.
type Redactor struct {
	mu sync.RWMutex
	// values are the values registered, in order.
	values []string
	// forms holds each distinct form of the values under a hash of its text
	// (formHash), and spill the forms whose hash was already taken. The
	// value form of a registered value always refers to that value, so
	// forms also says which values are registered.
	forms map[uint32]formRef
	spill map[string]formRef
	// lengths holds, under a hash of a form's first MinLength bytes
	// (prefixKey), the lengths of the forms that start with them, packed
	// (see addLength): a lookup tries one probe of forms per length,
	// however many secrets share a prefix. Sets of lengths that do not pack
	// are in long, longest first, and their entry in lengths is 0.
	lengths map[uint32]uint32
	long    map[uint32][]int
	// pairs has a bit set for the first two bytes of every form: most
	// positions of a text are passed over without a map lookup.
	pairs [1 << 16 / 64]uint64

	seed maphash.Seed
	// Tests make hashes collide: every prefix key is ANDed with prefixMask
	// (all ones from New), and weakHash, when set, replaces the form hash.
	prefixMask uint32
	weakHash   func(string) uint32
}

// kind is which of a value's forms a form is.
type kind uint8

const (
	kValue kind = iota
	kStd
	kURL
	kRawStd
	kRawURL
	// The alignment-independent parts of the raw encodings, for a value
	// that starts 0, 1 or 2 bytes after a group of three.
	kCoreStd0
	kCoreStd1
	kCoreStd2
	kCoreURL0
	kCoreURL1
	kCoreURL2
	kQuery
	kPath
	kJSON
	kQuote
	kQuoteASCII
	numKinds
)

// formRef names a form: the index of its value in values and its kind.
type formRef uint32

// kindBits is how many low bits of a formRef hold the kind.
const kindBits = 4

// maxValues is how many values a Redactor can register.
const maxValues = 1 << (32 - kindBits)

func makeRef(value int, k kind) formRef { return formRef(value)<<kindBits | formRef(k) }
func (f formRef) value() int            { return int(f >> kindBits) }
func (f formRef) kind() kind            { return kind(f & (1<<kindBits - 1)) }

// New returns an empty Redactor.
func New() *Redactor {
	return &Redactor{
		forms:      map[uint32]formRef{},
		lengths:    map[uint32]uint32{},
		seed:       maphash.MakeSeed(),
		prefixMask: ^uint32(0),
	}
}

// Add registers a secret value. Values shorter than MinLength are ignored.
func (r *Redactor) Add(value string) {
	if r == nil || len(value) < MinLength {
		return
	}
	r.mu.RLock()
	known := r.registered(value)
	r.mu.RUnlock()
	if known {
		return
	}
	type newForm struct {
		text string
		kind kind
		hash uint32
	}
	var fs []newForm
	for k := range numKinds {
		f, ok := form(value, k)
		if !ok || slices.ContainsFunc(fs, func(g newForm) bool { return g.text == f }) {
			continue
		}
		fs = append(fs, newForm{f, k, r.formHash(f)})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.registered(value) {
		return
	}
	if len(r.values) >= maxValues {
		panic(fmt.Sprintf("redact: more than %d values", maxValues))
	}
	v := len(r.values)
	r.values = append(r.values, value)
	for _, f := range fs {
		r.addForm(f.text, f.hash, makeRef(v, f.kind))
		p := uint16(f.text[0])<<8 | uint16(f.text[1])
		r.pairs[p/64] |= 1 << (p % 64)
		r.addLength(prefixKey(f.text)&r.prefixMask, len(f.text))
	}
}

// registered reports whether value was added. r.mu must be held.
func (r *Redactor) registered(value string) bool {
	ref, ok := r.find(value)
	return ok && ref.kind() == kValue
}

// addForm records that ref, whose text is t and t's hash h, is a form. A
// form already known keeps its entry, unless ref is a value form: that
// entry then names the value, for registered. r.mu must be held.
func (r *Redactor) addForm(t string, h uint32, ref formRef) {
	old, ok := r.forms[h]
	switch {
	case !ok:
		r.forms[h] = ref
		return
	case r.matches(old, t):
		if ref.kind() == kValue {
			r.forms[h] = ref
		}
		return
	}
	if _, ok := r.spill[t]; ok && ref.kind() != kValue {
		return
	}
	if r.spill == nil {
		r.spill = map[string]formRef{}
	}
	r.spill[t] = ref
}

// lenBits is how many low bits of a packed entry of lengths hold the
// longest length; bit lenBits+j of the entry is set when the set also
// holds the length longest-1-j (0 <= j < 8). A base64 encoding, padded,
// raw and its alignment-independent core, packs into one entry.
const lenBits = 24

// addLength adds l to the lengths of the forms whose prefix key is key.
// r.mu must be held.
func (r *Redactor) addLength(key uint32, l int) {
	e, ok := r.lengths[key]
	if !ok && l < 1<<lenBits {
		r.lengths[key] = uint32(l)
		return
	}
	if ok && e != 0 {
		if packed, ok := packLength(e, l); ok {
			r.lengths[key] = packed
			return
		}
	}
	if r.long == nil {
		r.long = map[uint32][]int{}
	}
	ls := r.long[key]
	if ok && e != 0 {
		ls = unpackLengths(e)
	}
	r.lengths[key] = 0
	if !slices.Contains(ls, l) {
		ls = append(ls, l)
		sort.Sort(sort.Reverse(sort.IntSlice(ls)))
	}
	r.long[key] = ls
}

// packLength adds l to the packed entry e, if the set still packs.
func packLength(e uint32, l int) (uint32, bool) {
	longest, rest := int(e&(1<<lenBits-1)), e>>lenBits
	switch {
	case l == longest:
		return e, true
	case l < longest:
		if d := longest - 1 - l; d < 8 {
			return e | 1<<(lenBits+d), true
		}
		return 0, false
	}
	// l is the new longest: the old longest moves to bit d-1, the others
	// up by d.
	d := l - longest
	if l >= 1<<lenBits || d > 8 {
		return 0, false
	}
	rest = 1<<(d-1) | rest<<d
	if rest >= 1<<8 {
		return 0, false
	}
	return uint32(l) | rest<<lenBits, true
}

// unpackLengths returns the lengths in the packed entry e, longest first.
func unpackLengths(e uint32) []int {
	longest := int(e & (1<<lenBits - 1))
	ls := []int{longest}
	for rest := e >> lenBits; rest != 0; rest &= rest - 1 {
		ls = append(ls, longest-1-bits.TrailingZeros32(rest))
	}
	return ls
}

// prefixKey hashes the first MinLength bytes of s (which must be at least
// that long) into a key of lengths. Two prefixes with one key share their
// lengths, which costs a probe, never a form.
func prefixKey(s string) uint32 {
	_ = s[MinLength-1]
	k := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	return uint32(k * 0x9E3779B97F4A7C15 >> 32)
}

// formHash is the key of form text t in forms.
func (r *Redactor) formHash(t string) uint32 {
	if r.weakHash != nil {
		return r.weakHash(t)
	}
	return uint32(maphash.String(r.seed, t))
}

// find returns the form whose text is t, if t is one. r.mu must be held.
func (r *Redactor) find(t string) (formRef, bool) {
	ref, ok := r.forms[r.formHash(t)]
	if !ok {
		return 0, false
	}
	if r.matches(ref, t) {
		return ref, true
	}
	if len(r.spill) == 0 {
		return 0, false
	}
	ref, ok = r.spill[t]
	return ref, ok
}

// matches reports whether ref's text is t. r.mu must be held.
func (r *Redactor) matches(ref formRef, t string) bool {
	return isForm(r.values[ref.value()], ref.kind(), t)
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
	return len(r.values)
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
	if len(r.values) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i+MinLength <= len(s); {
		if p := uint16(s[i])<<8 | uint16(s[i+1]); r.pairs[p/64]&(1<<(p%64)) == 0 {
			i++
			continue
		}
		key := prefixKey(s[i:]) & r.prefixMask
		if e, ok := r.lengths[key]; ok {
			if n := r.longest(s[i:], key, e); n > 0 {
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

// longest returns the length of the longest form that t starts with, or 0,
// given the entry e of lengths under key. r.mu must be held.
func (r *Redactor) longest(t string, key, e uint32) int {
	if e == 0 {
		for _, l := range r.long[key] {
			if l <= len(t) {
				if _, ok := r.find(t[:l]); ok {
					return l
				}
			}
		}
		return 0
	}
	longest := int(e & (1<<lenBits - 1))
	if longest <= len(t) {
		if _, ok := r.find(t[:longest]); ok {
			return longest
		}
	}
	for rest := e >> lenBits; rest != 0; rest &= rest - 1 {
		if l := longest - 1 - bits.TrailingZeros32(rest); l <= len(t) {
			if _, ok := r.find(t[:l]); ok {
				return l
			}
		}
	}
	return 0
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
	var out []string
	for k := range numKinds {
		if f, ok := form(value, k); ok && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// form returns value's form of kind k, if value has one long enough to
// mask.
func form(value string, k kind) (string, bool) {
	var f string
	switch k {
	case kValue:
		f = value
	case kStd, kURL, kRawStd, kRawURL:
		f = b64Encodings[k-kStd].EncodeToString([]byte(value))
	case kCoreStd0, kCoreStd1, kCoreStd2, kCoreURL0, kCoreURL1, kCoreURL2:
		a, b, ok := coreRange(len(value), int(k-kCoreStd0)%3)
		if !ok {
			return "", false
		}
		f = b64Encodings[kRawStd-kStd+(k-kCoreStd0)/3*(kRawURL-kRawStd)].EncodeToString([]byte(value[a:b]))
	case kQuery:
		f = url.QueryEscape(value)
	case kPath:
		f = url.PathEscape(value)
	case kJSON:
		j, err := json.Marshal(value)
		if err != nil {
			return "", false
		}
		f = string(j[1 : len(j)-1])
	case kQuote:
		q := strconv.Quote(value)
		f = q[1 : len(q)-1]
	case kQuoteASCII:
		q := strconv.QuoteToASCII(value)
		f = q[1 : len(q)-1]
	}
	return f, len(f) >= MinLength
}

// isForm reports whether t is value's form of kind k, computing the
// base64 forms without allocating.
func isForm(value string, k kind, t string) bool {
	switch k {
	case kValue:
		return value == t
	case kStd:
		return isBase64(stdAlphabet, true, value, t)
	case kURL:
		return isBase64(urlAlphabet, true, value, t)
	case kRawStd:
		return isBase64(stdAlphabet, false, value, t)
	case kRawURL:
		return isBase64(urlAlphabet, false, value, t)
	case kCoreStd0, kCoreStd1, kCoreStd2, kCoreURL0, kCoreURL1, kCoreURL2:
		a, b, ok := coreRange(len(value), int(k-kCoreStd0)%3)
		alphabet := stdAlphabet
		if k >= kCoreURL0 {
			alphabet = urlAlphabet
		}
		return ok && isBase64(alphabet, false, value[a:b], t)
	}
	f, ok := form(value, k)
	return ok && f == t
}

// b64Encodings are the encodings of kStd, kURL, kRawStd and kRawURL, in
// order.
var b64Encodings = [...]*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}

const (
	stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	urlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// isBase64 reports whether t is the base64 encoding of src in alphabet,
// padded with '=' or not.
func isBase64(alphabet string, pad bool, src, t string) bool {
	n := len(src)
	want := (n*8 + 5) / 6
	if pad {
		want = (n + 2) / 3 * 4
	}
	if len(t) != want {
		return false
	}
	j := 0
	for i := 0; i < n; i += 3 {
		v := uint(src[i]) << 16
		chars := 2
		if i+1 < n {
			v |= uint(src[i+1]) << 8
			chars++
		}
		if i+2 < n {
			v |= uint(src[i+2])
			chars++
		}
		for c := range 4 {
			switch {
			case c < chars:
				if t[j] != alphabet[v>>(18-6*c)&0x3F] {
					return false
				}
			case pad:
				if t[j] != '=' {
					return false
				}
			default:
				continue
			}
			j++
		}
	}
	return true
}

// coreRange returns the bytes of a value n bytes long whose encoding does
// not depend on what precedes or follows the value when it starts off
// (0, 1 or 2) bytes after a group of three: the whole groups of three that
// lie inside it. ok is false when they encode to fewer than minCore
// characters.
func coreRange(n, off int) (a, b int, ok bool) {
	// In bytes counted from the group boundary, the value is off..off+n;
	// the whole groups in it are first..last.
	first := (off + 2) / 3
	last := (off + n) / 3
	if 4*(last-first) < minCore {
		return 0, 0, false
	}
	return 3*first - off, 3*last - off, true
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
