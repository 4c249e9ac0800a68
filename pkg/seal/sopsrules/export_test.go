package sopsrules

// Resolved is what Resolve makes of the creation rule of a path, in the
// terms of sops's config.Config, for the test that compares the two.
type Resolved struct {
	// KeyGroups holds each key as "KIND ID": sops's TypeToIdentifier and
	// ToString of the key.
	KeyGroups                                      [][]string
	ShamirThreshold                                int
	UnencryptedSuffix, EncryptedSuffix             string
	UnencryptedRegex, EncryptedRegex               string
	UnencryptedCommentRegex, EncryptedCommentRegex string
	MACOnlyEncrypted                               bool
}

// Resolve is the index of the rule c applies to p (-1 when none matches)
// and what it reads from that rule, or the error sops would give.
func (c *Config) Resolve(p string) (int, *Resolved, error) {
	i, sc, err := c.resolve(p)
	if err != nil {
		return i, nil, err
	}
	r := &Resolved{
		ShamirThreshold:         sc.shamirThreshold,
		UnencryptedSuffix:       sc.unencryptedSuffix,
		EncryptedSuffix:         sc.encryptedSuffix,
		UnencryptedRegex:        sc.unencryptedRegex,
		EncryptedRegex:          sc.encryptedRegex,
		UnencryptedCommentRegex: sc.unencryptedCommentRegex,
		EncryptedCommentRegex:   sc.encryptedCommentRegex,
		MACOnlyEncrypted:        sc.macOnlyEncrypted,
	}
	for _, g := range sc.keyGroups {
		keys := []string{}
		for _, k := range g {
			keys = append(keys, k.kind+" "+k.id)
		}
		r.KeyGroups = append(r.KeyGroups, keys)
	}
	return i, r, nil
}
