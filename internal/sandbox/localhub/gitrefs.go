package localhub

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// maxCommandPeek bounds how much of a receive-pack body is read ahead to
// find the refs it updates.
const maxCommandPeek = 64 << 10

// peekedBody is a request body read through a buffer that was peeked into.
type peekedBody struct {
	*bufio.Reader
	io.Closer
}

// pushedRefs reads the ref names of a receive-pack request's commands, the
// pkt-lines "<old> <new> <ref>[\0<capabilities>]" before the first flush,
// from the head of body, and returns a body that still yields every byte.
// A body it cannot parse gives no refs.
func pushedRefs(body io.ReadCloser) ([]string, io.ReadCloser) {
	br := bufio.NewReaderSize(body, maxCommandPeek)
	out := &peekedBody{Reader: br, Closer: body}
	var refs []string
	off := 0
	for {
		head, err := br.Peek(off + 4)
		if err != nil || len(head) < off+4 {
			return refs, out
		}
		n, err := strconv.ParseUint(string(head[off:off+4]), 16, 16)
		if err != nil {
			return nil, out
		}
		if n == 0 {
			return refs, out
		}
		if n < 4 || off+int(n) > maxCommandPeek {
			return nil, out
		}
		line, err := br.Peek(off + int(n))
		if err != nil {
			return nil, out
		}
		cmd, _, _ := strings.Cut(string(line[off+4:]), "\x00")
		fields := strings.Fields(cmd)
		if len(fields) != 3 {
			return nil, out
		}
		refs = append(refs, fields[2])
		off += int(n)
	}
}

// onlyOtherRefs reports whether refs is a non-empty list of refs outside
// refs/heads and refs/tags, such as credrotate's run lease.
func onlyOtherRefs(refs []string) bool {
	for _, r := range refs {
		if strings.HasPrefix(r, "refs/heads/") || strings.HasPrefix(r, "refs/tags/") {
			return false
		}
	}
	return len(refs) > 0
}
