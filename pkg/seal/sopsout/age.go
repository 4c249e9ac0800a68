package sopsout

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
)

// ParseRecipient parses an age recipient as sops accepts one in a file's
// or a creation rule's age list: an X25519 key (age1...), a post-quantum
// hybrid key (age1pq1...) or an SSH public key (ssh-ed25519 ..., ssh-rsa
// ...). Plugin recipients (age1<name>1...) need their plugin binary, which
// credrotate does not run.
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		return age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		return nil, errors.New("age plugin recipients are not supported: credrotate does not run age plugins")
	case strings.HasPrefix(s, "age1"):
		return age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		return agessh.ParseRecipient(s)
	}
	return nil, errors.New("not an age (age1...) or SSH public key")
}

// parseIdentities parses age identities, one a line; empty lines and lines
// starting with "#" are skipped, as in sops's SOPS_AGE_KEY handling.
func parseIdentities(text string) ([]age.Identity, error) {
	var out []age.Identity
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		default:
			err = errors.New("unknown identity type")
		}
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// wrapDataKey encrypts the data key for one recipient as sops stores it:
// an armored age file.
func wrapDataKey(r age.Recipient, dataKey []byte) (string, error) {
	var b bytes.Buffer
	aw := armor.NewWriter(&b)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(dataKey); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// maxDataKey bounds what an unwrapped data key may be.
const maxDataKey = 1 << 10

// unwrapDataKey opens an armored age file with the identities.
func unwrapDataKey(enc string, ids []age.Identity) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), ids...)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDataKey+1))
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("the data key is %d bytes, not 32", len(b))
	}
	return b, nil
}
